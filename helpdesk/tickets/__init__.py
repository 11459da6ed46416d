"""The ticket store: tickets, their messages, participants and attachments, and every operation on them."""

MODELS = ("models", "canned", "presence", "satisfaction", "sla_models", "guest_links")
TEMPLATES = "templates"  # the mails it sends


def init_app(app):
    """Give the audit trail its sentences for this package's actions (the module registers them on import) and
    the email channel its composers for ticket notices."""
    from helpdesk.tickets import audit_sentences, mail_notices  # noqa: F401

    mail_notices.register()
