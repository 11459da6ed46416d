"""Ownership transfers: the owner's request and the new owner's confirmation (issue 19)."""
from flask import Blueprint

bp = Blueprint("device_transfers", __name__)
