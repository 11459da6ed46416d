"""Users (admins, agents, customers) and organisations."""

MODELS = ("models", "social_models", "verification_models", "identity_models", "api_token_models")
TEMPLATES = "templates"  # the mails it sends (activation, password reset)


def init_app(app):
    """Give the audit trail its sentences for this package's actions (the module registers them on import)."""
    from helpdesk.accounts import audit_sentences  # noqa: F401
