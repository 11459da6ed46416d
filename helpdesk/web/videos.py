"""Training videos in the portal: licences bought, their keys and player links (issue 19)."""
from flask import Blueprint

bp = Blueprint("videos", __name__)
