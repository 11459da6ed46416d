"""The live chat door's one blueprint, shared by the JSON/SSE endpoints and the inbox pages."""
from flask import Blueprint, abort, current_app, request

bp = Blueprint("livechat", __name__, url_prefix="/chat", template_folder="templates", static_folder="static")


@bp.before_request
def _chat_enabled():
    """CHAT_ENABLED False: the chat door's every URL (endpoints, pages, scripts) is not found."""
    if not current_app.config["CHAT_ENABLED"]:
        abort(404)


def posted() -> dict:
    """What a script posted: a JSON object, or form fields (a multipart upload, a plain form)."""
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


def text(values: dict, name: str) -> str:
    """A posted value as text ("" when missing or not text: the service says what is missing)."""
    value = values.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""
