"""The customer's read-only identity data and the request to correct it (issue 19)."""
from flask import Blueprint

bp = Blueprint("account_identity", __name__)
