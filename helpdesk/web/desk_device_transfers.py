"""The console's ownership transfers and installation confirmations: approval and counter-signed notes (issue 19)."""
from flask import Blueprint

bp = Blueprint("desk_device_transfers", __name__)
