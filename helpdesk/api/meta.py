"""Who am I, and the answer for any path under /api/v1 that no endpoint serves."""
from flask import Blueprint, current_app, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from helpdesk.api import problems
from helpdesk.api.core import PREFIX, actor, new_blueprint, scoped, token
from helpdesk.i18n import lazy_gettext as _l

bp = new_blueprint("me", __name__, _l("The token's owner and the token itself."))


class TokenInfoSchema(Schema):
    name = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    expires_at = fields.DateTime(allow_none=True, required=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.Email(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["customer", "agent", "admin"]})
    locale = fields.String(allow_none=True)
    token = fields.Nested(TokenInfoSchema, required=True)


@bp.route("/me")
@bp.response(200, MeSchema)
@scoped()
def me():
    """The person the token acts for, and the token's scopes."""
    user = actor()
    return {"id": user.id, "email": user.email, "full_name": user.full_name, "role": user.role,
            "locale": user.locale, "token": token()}


# Anything under /api/v1 that no endpoint serves: a plain blueprint, so the document does not list it.
fallback = Blueprint("api_fallback", __name__, url_prefix=PREFIX)
problems.register_handlers(fallback)


@fallback.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def nothing_here(anything):
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = sorted(method for method in ("GET", "POST", "PUT", "PATCH", "DELETE") if _served(adapter, method))
    if allowed:
        return problems.problem(405, headers={"Allow": ", ".join(allowed)})
    return problems.problem(404, _l("There is no such endpoint: see /api/v1/openapi.json."))


def _served(adapter, method) -> bool:
    try:
        endpoint, _ = adapter.match(request.path, method=method)
    except HTTPException:
        return False
    return endpoint != "api_fallback.nothing_here"
