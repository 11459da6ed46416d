"""The device buyer's portal: their devices, status, days remaining, contracts and renewal choices (issue 19)."""
from flask import Blueprint

bp = Blueprint("devices", __name__)
