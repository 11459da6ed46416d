"""The installation confirmation a buyer signs, and its read-only record (issue 19)."""
from flask import Blueprint

bp = Blueprint("device_installation", __name__)
