"""Errors as RFC 9457 problem details (``application/problem+json``): every error the API answers reads
{"type", "title", "status", "detail"}, and a rejected request lists every bad field at once under "errors", each
with a JSON pointer into the request ("#/subject") or the name of the query parameter or header."""
from flask import current_app, jsonify, request
from flask_babel import gettext as _
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, default_exceptions

from helpdesk import errors

PROBLEM_TYPES = "https://helpdesk.invalid/problems/"  # a URI naming the kind of problem (RFC 9457 §3.1.1)
MEDIA_TYPE = "application/problem+json"

# The title each status reads with (the detail says what went wrong with this request).
_TITLES = {
    400: lambda: _("Bad request"),
    401: lambda: _("Not authenticated"),
    403: lambda: _("Not allowed"),
    404: lambda: _("Not found"),
    405: lambda: _("Method not allowed"),
    406: lambda: _("Not acceptable"),
    409: lambda: _("Conflict"),
    412: lambda: _("Precondition failed"),
    413: lambda: _("Too large"),
    415: lambda: _("Unsupported media type"),
    422: lambda: _("Invalid request"),
    428: lambda: _("Precondition required"),
    429: lambda: _("Too many requests"),
    500: lambda: _("Internal error"),
}


class FieldErrorSchema(Schema):
    pointer = fields.String(metadata={"description": "JSON pointer into the body (#/subject), or a parameter name"})
    detail = fields.String(required=True)


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.List(fields.Nested(FieldErrorSchema))


def problem(status: int, detail=None, *, kind=None, title=None, field_errors=None, headers=None, **extensions):
    """A problem-details response."""
    body = {"type": PROBLEM_TYPES + (kind or str(status)), "title": str(title or _TITLES.get(status, _TITLES[400])()),
            "status": status}
    if detail:
        body["detail"] = str(detail)
    body["instance"] = request.path
    if field_errors:
        body["errors"] = field_errors
    body.update(extensions)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _pointer(location, path):
    if location in ("json", "form", "files"):
        return "#/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return ".".join(str(part) for part in path)  # a query parameter, a header


def _flatten(messages, location, path=()):
    """webargs's nested {field: [messages]} as a flat list of {pointer, detail}."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, location, (*path, key))
    elif isinstance(messages, (list, tuple)):
        for message in messages:
            if isinstance(message, (dict, list, tuple)):
                yield from _flatten(message, location, path)
            else:
                yield {"pointer": _pointer(location, path), "detail": str(message)}
    else:
        yield {"pointer": _pointer(location, path), "detail": str(messages)}


def validation_problem(field_errors: dict, location="json"):
    """422 listing every bad field, from a service's ValidationFailed or the API's own checks."""
    return problem(422, _("Please correct the listed fields."), kind="validation",
                   field_errors=list(_flatten(field_errors, location)))


def from_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if error.code == 422 and "messages" in data:  # webargs: {location: {field: [messages]}}
        field_errors = []
        for location, messages in data["messages"].items():
            field_errors.extend(_flatten(messages, location))
        return problem(422, _("Please correct the listed fields."), kind="validation", field_errors=field_errors,
                       headers=headers)
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    code = error.code or 500
    if code >= 500:
        current_app.logger.exception("API error %s on %s %s", code, request.method, request.path)
    detail = data.get("message") or (error.description if code < 500 else None)
    if code == 400 and request.is_json and not data.get("message"):
        detail = _("The request body is not valid JSON.")
    return problem(code, detail, headers=headers)


def from_domain_error(error: errors.HelpdeskError):
    if isinstance(error, errors.ValidationFailed):
        return validation_problem(error.errors, getattr(error, "location", "json"))
    if isinstance(error, errors.NotFound):
        return problem(404, error.message)
    if isinstance(error, errors.NotAllowed):
        return problem(403, error.message)
    if isinstance(error, errors.Conflict):
        return problem(409, error.message, kind="conflict")
    return problem(400, error.message)


def register_handlers(blueprint) -> None:
    """Answer every error raised in ``blueprint``'s views as problem details. Handlers by code come first (the web
    door's pages answer 404 and 403 by code for the whole app), then by class."""
    for code in default_exceptions:
        blueprint.register_error_handler(code, from_http_exception)
    blueprint.register_error_handler(HTTPException, from_http_exception)
    blueprint.register_error_handler(errors.HelpdeskError, from_domain_error)


def unexpected(error):
    current_app.logger.exception("API error on %s %s", request.method, request.path)
    return problem(500, _("Something went wrong on our side. It has been logged."))


class BadCursor(errors.ValidationFailed):
    location = "query"

    def __init__(self):
        super().__init__({"after": _("This cursor is not one the API gave out.")})
