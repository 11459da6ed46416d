"""The live chat door's one blueprint, shared by the JSON/SSE endpoints and the inbox pages."""
from flask import Blueprint

bp = Blueprint("livechat", __name__, url_prefix="/chat", template_folder="templates", static_folder="static")
