"""Customer accounts created by staff, with identity data and a set-your-password link (issue 19)."""
from flask import Blueprint

bp = Blueprint("desk_buyers", __name__)
