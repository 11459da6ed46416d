"""Announcements from staff to all customers or to owners of a device type: portal banner, email and SMS (issue 19)."""
from flask import Blueprint

bp = Blueprint("desk_announcements", __name__)
