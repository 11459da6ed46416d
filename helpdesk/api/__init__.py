"""The REST API door (issue 20): /api/v1, described by an OpenAPI 3.1 document generated from the code
(flask-smorest: marshmallow schemas and apispec), for personal API tokens.

Like the web door and the mail gateway it writes nothing itself: every view calls the same domain service as the
web page for the same action, acting as the token's owner. This package holds only the HTTP side: token
authentication, scopes, problem details, ETags, Idempotency-Key, rate limits and the reference page."""
from flask import g, request

MODELS = ("models",)
TEMPLATES = "templates"
SERVES_HTTP = True

# The modules with endpoints, each a blueprint ``bp`` (their order is the reference's order).
RESOURCES = ("meta", "tickets", "people", "kb", "billing", "devices", "webhooks")


def init_app(app):
    import importlib

    from helpdesk.accounts import api_tokens
    from helpdesk.api import core, problems, ratelimit
    from helpdesk.extensions import csrf

    app.config.setdefault("API_TITLE", "helpdesk")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", core.PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = core.HelpdeskApi(app, spec_kwargs={"info": {
        "description": "The helpdesk's REST API. Authenticate with a personal API token (created in your profile): "
                       "`Authorization: Bearer hd_...`. Errors are RFC 9457 problem details."}})
    api.spec.components.security_scheme(core.SECURITY_SCHEME, {
        "type": "http", "scheme": "bearer", "description": "A personal API token (hd_...), with scopes."})
    api.spec.components.schema("Problem", schema=problems.ProblemSchema)
    app.extensions["helpdesk_api"] = api
    # Ids in paths use the app's <id:...> converter (ASCII digits up to 2^31-1; anything else is 404).
    api.register_converter(app.url_map.converters["id"],
                           lambda _converter: {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
    for name in RESOURCES:
        try:
            module = importlib.import_module(f"helpdesk.api.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"helpdesk.api.{name}":
                raise
            continue
        csrf.exempt(module.bp)
        api.register_blueprint(module.bp)
    from helpdesk.api import reference  # /api/v1/docs, before the fallback's catch-all would answer it

    app.register_blueprint(reference.bp)
    from helpdesk.api.meta import fallback

    api.finish()
    csrf.exempt(fallback)
    app.register_blueprint(fallback)

    @app.before_request
    def _authenticate_api_requests():
        if not request.path.startswith(core.PREFIX + "/") and request.path != core.PREFIX:
            return None
        g.api_token = _bearer_token(api_tokens)
        if g.api_token is not None:
            request.helpdesk_user = g.api_token.user  # messages in the token owner's language
        else:
            request.helpdesk_user = None  # never the browser's session: the API takes tokens only
        headers, over = ratelimit.check(g.api_token)
        g.api_ratelimit_headers = headers
        if over:
            return problems.problem(429, ratelimit.TOO_MANY, headers=headers)
        return None

    @app.after_request
    def _api_headers(response):
        for name, value in (g.get("api_ratelimit_headers") or {}).items():
            response.headers.setdefault(name, value)
        if request.path.startswith(core.PREFIX + "/"):
            response.headers["Cache-Control"] = response.headers.get("Cache-Control", "private, no-cache")
            response.headers.setdefault("Vary", "Authorization")
        return response


def _bearer_token(api_tokens):
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return api_tokens.authenticate(value.strip())
