"""The console's pay-per-case: the price list, charging a case, approving cases above the ceiling (issue 19)."""
from flask import Blueprint

bp = Blueprint("desk_device_cases", __name__)
