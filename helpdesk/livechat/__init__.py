"""The live chat door (issue 21): JSON and Server-Sent Events endpoints for visitors (the portal's chat panel and
the snippet embedded on other websites) and agents (the console's chat inbox), the widget's script, and the
inbox pages. It calls helpdesk.chat's services and holds no rules of its own."""

TEMPLATES = "templates"


def init_app(app):
    """Register the blueprint (filled in by the door's modules)."""
