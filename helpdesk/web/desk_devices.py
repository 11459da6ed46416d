"""The console's devices: the device-type catalogue, registering devices to customer accounts, contracts (issue 19)."""
from flask import Blueprint

bp = Blueprint("desk_devices", __name__)
