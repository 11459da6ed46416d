"""The ticket store: tickets, their messages, participants and attachments, and every operation on them."""

MODELS = ("models", "canned", "presence", "satisfaction", "sla_models", "guest_links")
TEMPLATES = "templates"  # the mails it sends


def init_app(app):
    """Give the audit trail its sentences for this package's actions (the module registers them on import), the
    email channel its composers for ticket notices, and identity verification its ticket in the verification queue."""
    from helpdesk.tickets import audit_sentences, identity_queue, mail_notices  # noqa: F401

    mail_notices.register()
    identity_queue.register()
