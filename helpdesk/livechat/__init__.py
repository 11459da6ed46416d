"""The live chat door (issue 21): JSON and Server-Sent Events endpoints for visitors (the portal's chat panel and
the snippet embedded on other websites) and agents (the console's chat inbox), the widget's script, and the
inbox pages. It calls helpdesk.chat's services and holds no rules of its own."""

TEMPLATES = "templates"
SERVES_HTTP = True


def init_app(app):
    """Register the blueprint: the visitor's and the agents' endpoints, then the inbox pages (pages.py, which
    attach to the same blueprint). Visitor endpoints are exempt from the session's CSRF check: a chat key in a
    header proves who they are, and the one use of the session (starting as the logged-in customer) checks the
    token itself (visitor.py)."""
    import importlib

    from helpdesk.extensions import csrf
    from helpdesk.livechat import agent, errors, visitor  # noqa: F401 (their routes and handlers attach to bp)
    from helpdesk.livechat.blueprint import bp

    try:
        importlib.import_module("helpdesk.livechat.pages")
    except ModuleNotFoundError as missing:
        if missing.name != "helpdesk.livechat.pages":
            raise
    for view in visitor.VISITOR_VIEWS:
        csrf.exempt(view)
    app.register_blueprint(bp)
