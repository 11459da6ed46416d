"""The chat door's errors as JSON, ``{"error": message, "fields": {name: message}}``, for the widget and the inbox
scripts that read them; a browser that asked for a page (one of the inbox pages) gets the app's error page."""
from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from helpdesk import errors
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.livechat.blueprint import bp

STATUS = {errors.ValidationFailed: 400, errors.NotAllowed: 403, errors.NotFound: 404, errors.Conflict: 409}


def json_error(status: int, message, fields=None):
    """An error answer; ``fields`` maps each bad field to its message (all at once, as ValidationFailed has them)."""
    body = {"error": str(message), "fields": {name: str(text) for name, text in (fields or {}).items()}}
    response = jsonify(body)
    response.status_code = status
    return response


def _wants_page() -> bool:
    """A browser navigating to a page (it lists text/html); scripts ask for JSON, */* or an event stream."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html" \
        and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


def _as_page(exc):
    """The app's own error page for ``exc`` (the web door's handlers), or None when it has none."""
    handler = current_app._find_error_handler(exc, [])
    return handler(exc) if handler is not None else None


@bp.errorhandler(errors.HelpdeskError)
def _domain_error(exc):
    if _wants_page():
        page = _as_page(exc)
        if page is not None:
            return page
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    return json_error(status, exc.message, getattr(exc, "errors", None))


@bp.errorhandler(CSRFError)
def _csrf_error(exc):
    if _wants_page():
        page = _as_page(exc)
        if page is not None:
            return page
    return json_error(400, _("The form has expired: load the page again."))


MESSAGES = {
    400: _l("Bad request"),
    403: _l("You are not allowed to do that."),
    404: _l("Not found."),
    405: _l("Method not allowed"),
    413: _l("The upload is larger than the allowed size."),
    429: _l("Too many attempts. Please wait a minute and try again."),
}


# By code as well: the app's own handlers for these codes (its HTML pages) would otherwise come first.
@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(405)
@bp.errorhandler(413)
@bp.errorhandler(429)
@bp.errorhandler(HTTPException)
def _http_error(exc):
    if exc.code is None or exc.code < 400:  # a routing redirect (a missing slash) stays one
        return exc
    if _wants_page() and exc.code != 405:
        page = _as_page(exc)
        if page is not None:
            return page
    response = json_error(exc.code or 500, MESSAGES.get(exc.code, exc.name))
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response

