"""Pay-per-case service in the portal: the account's case charges and running debt (issue 19)."""
from flask import Blueprint

bp = Blueprint("device_cases", __name__)
