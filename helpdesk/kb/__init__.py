"""The knowledge base: folders, articles, revisions and "was this helpful?" feedback."""

MODELS = ("models",)


def init_app(app):
    """Give the audit trail its sentences for this package's actions (the module registers them on import)."""
    from helpdesk.kb import audit_sentences  # noqa: F401
