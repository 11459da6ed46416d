"""What every endpoint of the API shares: its blueprints, who is calling (a personal API token and its scopes),
ETags, keyset pages and the common schemas.

An endpoint is written like this (see meta.py and tickets.py):

    bp = new_blueprint("tickets", __name__, _l("Tickets ..."))

    @bp.route("/tickets/<id:number>")
    @bp.response(200, TicketSchema)
    @scoped("tickets:read")
    def read_ticket(number):
        ticket = tickets_access.get_ticket(actor(), number)       # the services check the person
        return with_etag(TicketSchema().dump(ticket))

``scoped`` is the innermost decorator: it refuses a request without a live token (401) or without the scope (403),
and documents the security requirement and those answers in the OpenAPI document. Views never write: they call the
domain services with ``actor()``, the token's owner, as every door does."""
import base64
import copy
import hashlib
import json
import re
from functools import wraps

from flask import current_app, g, jsonify, request
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate

from helpdesk.api import problems
from helpdesk.i18n import lazy_gettext as _l

PREFIX = "/api/v1"
SECURITY_SCHEME = "bearerAuth"
ERROR_ANSWERS = {
    400: _l("The request could not be read, e.g. a body that is not JSON."),
    401: _l("No valid API token was sent."),
    403: _l("The token lacks the scope, or its owner may not do this."),
    404: _l("Not found, or not yours to see."),
    422: _l("The request was invalid: every bad field is listed."),
    429: _l("Too many requests for this token: wait for the time RateLimit names."),
}


class HelpdeskApi(Api):
    """flask-smorest's Api without its app-wide error handler: the web door's pages answer errors outside the API,
    and each API blueprint answers its own as problem details (problems.register_handlers)."""

    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its own problem answers (``scoped``)

    def _register_error_handlers(self):
        pass

    def finish(self) -> None:
        """Once every blueprint is registered: each operation gets an operationId (its view's name, so a generated
        client reads ``open_ticket`` rather than ``post_api_v1_tickets``), every error answer declared without a body
        gets the problem details it carries, and docstrings' ``code`` reads as Markdown's `code`."""
        names = {}
        for rule in self._app.url_map.iter_rules():
            if rule.rule.startswith(PREFIX + "/"):
                path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)  # as the document writes it
                for method in rule.methods - {"HEAD", "OPTIONS"}:
                    names[(path, method.lower())] = rule.endpoint.rsplit(".", 1)[-1]
        seen = set()
        for path, item in self.spec._paths.items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or method not in ("get", "post", "put", "patch", "delete"):
                    continue
                self._finish_operation(operation, names.get((path, method), method), seen)

    @staticmethod
    def _finish_operation(operation, view, seen):
        operation_id = view if view not in seen else f"{view}_{len(seen)}"
        seen.add(operation_id)
        operation.setdefault("operationId", operation_id)
        for key in ("summary", "description"):
            if isinstance(operation.get(key), str):
                operation[key] = operation[key].replace("``", "`")
        for status, answer in operation.get("responses", {}).items():
            if str(status)[0] in "45" and isinstance(answer, dict) and "content" not in answer and "$ref" not in answer:
                answer["content"] = {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}

    def register_blueprint(self, blp, **options):
        """Register ``blp``; its tag in the document is its name without the "api_" that keeps it apart from
        the web door's blueprints (a generated client names its modules after the tags)."""
        super().register_blueprint(blp, **options)
        tag = blp.name.removeprefix("api_")
        for path in self.spec._paths.values():
            for operation in path.values():
                if isinstance(operation, dict) and operation.get("tags") == [blp.name]:
                    operation["tags"] = [tag]
        self.spec._tags = [dict(t, name=tag) if t["name"] == blp.name else t for t in self.spec._tags]


def new_blueprint(name: str, import_name: str, description) -> Blueprint:
    blueprint = Blueprint(f"api_{name}", import_name, url_prefix=PREFIX, description=str(description))
    problems.register_handlers(blueprint)
    return blueprint


# --------------------------------------------------------------------------- who is calling

def actor():
    """The token's owner: the person every service call acts as."""
    return g.api_token.user


def token():
    return g.get("api_token")


def has_scope(scope: str) -> bool:
    live = token()
    return live is not None and scope in (live.scopes or ())


def scoped(*scopes: str):
    """Require a live token with every one of ``scopes`` (innermost decorator of a view)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if token() is None:
                return problems.problem(401, _l("Send a personal API token: Authorization: Bearer <token>."),
                                        headers={"WWW-Authenticate": 'Bearer realm="helpdesk"'})
            missing = [scope for scope in scopes if not has_scope(scope)]
            if missing:
                return problems.problem(403, _l("This token lacks the scope %(scope)s.", scope=", ".join(missing)),
                                        kind="insufficient-scope")
            return view(*args, **kwargs)

        doc = wrapper._apidoc = copy.deepcopy(getattr(wrapper, "_apidoc", {}))
        manual = doc.setdefault("manual_doc", {})
        manual["security"] = [{SECURITY_SCHEME: list(scopes)}]
        for status, text in ERROR_ANSWERS.items():
            manual.setdefault("responses", {}).setdefault(str(status), {
                "description": str(text),
                "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}})
        return wrapper

    return decorator


# --------------------------------------------------------------------------- ETags

def etag_of(payload) -> str:
    """A strong ETag of a representation: the same JSON, the same tag."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
                            .encode()).digest()
    return '"' + base64.urlsafe_b64encode(digest[:18]).decode() + '"'


def _tags(header: str) -> list[str]:
    return [part.strip().removeprefix("W/") for part in (header or "").split(",") if part.strip()]


def check_if_match(current_payload) -> None:
    """Refuse (412) a change sent with an If-Match that no longer names the resource as it is: another client
    changed it since this one read it. Without If-Match the change goes ahead (last writer wins, as in the web UI)."""
    wanted = request.headers.get("If-Match")
    if wanted is None:
        return
    tags = _tags(wanted)
    if "*" in tags or etag_of(current_payload) in tags:
        return
    from werkzeug.exceptions import PreconditionFailed

    raise PreconditionFailed(str(_l("The resource changed since you read it: read it again, then resend the "
                                    "change with its new ETag.")))


def with_etag(payload, status=200, headers=None):
    """The answer for a dumped representation: JSON with its ETag (and ``headers``); 304 when the client's
    If-None-Match already names it. A ready response, so flask-smorest does not dump it a second time."""
    tag = etag_of(payload)
    if request.method in ("GET", "HEAD") and tag in _tags(request.headers.get("If-None-Match")):
        return current_app.response_class(status=304, headers={"ETag": tag})
    response = jsonify(payload)
    response.status_code = status
    response.headers["ETag"] = tag
    response.headers.update(headers or {})
    return response


# What operations with ETags add to the document: @bp.doc(parameters=[IF_NONE_MATCH], responses=NOT_MODIFIED) on
# reads, @bp.doc(parameters=[IF_MATCH], responses=problem_answers(412)) on changes, headers=ETAG_HEADER on answers.
IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                 "description": "The ETag you have: 304 while the resource is unchanged"}
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "The ETag you read: 412 if the resource changed since"}
ETAG_HEADER = {"ETag": {"description": "The representation's tag, for If-None-Match and If-Match",
                        "schema": {"type": "string"}}}
NOT_MODIFIED = {"304": {"description": "Not modified: If-None-Match names the current ETag."}}
_PROBLEM_TEXTS = {
    409: "The resource is not in a state this change starts from, or a request with this Idempotency-Key is still "
         "being answered.",
    412: "If-Match names an older version: read the resource again.",
}


def problem_answers(*codes) -> dict:
    """Document problem answers of an operation beyond those ``scoped`` lists (409, 412)."""
    return {str(code): {"description": _PROBLEM_TEXTS[code],
                        "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for code in codes}


# --------------------------------------------------------------------------- shared schemas and parameters

class PageArgs(Schema):
    after = fields.String(metadata={"description": "The next_cursor of the page before"})
    before = fields.String(metadata={"description": "The prev_cursor of the page after"})
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100),
                           metadata={"description": "Items per page, 1 to 100"})


def page_schema(item_schema, name: str):
    """A page of ``item_schema``: {"items": [...], "next_cursor", "prev_cursor"} (null at an end)."""
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "next_cursor": fields.String(allow_none=True, required=True),
        "prev_cursor": fields.String(allow_none=True, required=True),
    })


def keyset_page(query, column, *, after=None, before=None, limit=25, scalars=None):
    """One page of ``query`` ordered by the unique integer ``column`` descending (newest first), as
    {"items", "next_cursor", "prev_cursor"}; cursors are the column's value at the page's ends."""
    from helpdesk.extensions import db

    def _cursor(value):
        try:
            return int(base64.urlsafe_b64decode(value.encode() + b"==").decode())
        except (ValueError, UnicodeDecodeError, base64.binascii.Error):
            raise problems.BadCursor() from None

    def _encode(value):
        return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")

    backwards = bool(before) and not after
    if after:
        query = query.where(column < _cursor(after))
    elif before:
        query = query.where(column > _cursor(before))
    rows = list((scalars or db.session.scalars)(
        query.order_by(column.asc() if backwards else column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    key = column.key
    next_cursor = prev_cursor = None
    if rows:
        if more if not backwards else True:
            next_cursor = _encode(getattr(rows[-1], key))
        if bool(after or before) if not backwards else more:
            prev_cursor = _encode(getattr(rows[0], key))
    return {"items": rows, "next_cursor": next_cursor, "prev_cursor": prev_cursor}
