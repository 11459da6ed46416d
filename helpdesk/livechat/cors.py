"""Which websites may talk to the visitor's endpoints: the desk's own pages, and the origins in
CHAT_ALLOWED_ORIGINS that embed the snippet. Those get CORS headers (and preflight answers); a browser request
from any other website is refused here too, not only by the browser, since a plain form post needs no preflight.

No credentials cross origins: an embedded panel is a guest known by its chat key (X-Chat-Key), never by the
desk's session cookie, so Access-Control-Allow-Credentials is never sent."""
from urllib.parse import urlsplit

from flask import current_app, request

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type, X-Chat-Key, Last-Event-ID"
PREFLIGHT_MAX_AGE = "600"


def _origin_of(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def allowed_origins() -> set[str]:
    return {_origin_of(origin) for origin in current_app.config.get("CHAT_ALLOWED_ORIGINS") or ()} - {""}


def is_own_origin(origin: str) -> bool:
    """The desk's own pages: the host this request came to (whatever scheme a proxy in front speaks), or
    BASE_URL's origin."""
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == request.host.lower() \
        or origin.lower() == _origin_of(current_app.config.get("BASE_URL") or "")


def cross_origin() -> str | None:
    """The request's Origin when it is another website's (allowed or not); None for the desk's own pages and for
    requests without one (not from a browser script, or a same-origin GET)."""
    origin = (request.headers.get("Origin") or "").strip()
    if not origin or is_own_origin(origin):
        return None
    return origin


def origin_refused() -> bool:
    """A browser on a website that is not on the list."""
    origin = cross_origin()
    return origin is not None and origin.lower() not in allowed_origins()


def add_headers(response):
    """CORS headers for an allowed website (and the answer to its preflight)."""
    origin = cross_origin()
    response.vary.add("Origin")
    if origin is None or origin.lower() not in allowed_origins():
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response
