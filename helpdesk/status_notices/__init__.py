"""Service-status notices: staff tell the customers of the products and services an incident or a planned
maintenance affects, with a banner in the portal, an email to their support addresses (through the notice
channels, so SMS can carry it later) and the public status page.

Public modules: models (notices, what they affect, their updates, mailings, maintenance opt-outs), service (publish,
edit, post an update, resolve, opt out), access (who changes notices; the reads the doors show), audience (the
customers a notice affects, from billing's services), tasks (the job that mails them), mail_notices (how a notice
reads as an email)."""

MODELS = ("models",)
TEMPLATES = "templates"  # the mails it sends


def init_app(app):
    """Give the audit trail its sentences for notices, and the email channel its composers for them."""
    from helpdesk.status_notices import audit_sentences, mail_notices  # noqa: F401

    mail_notices.register()
