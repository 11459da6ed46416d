"""Webhooks (issue 20): endpoints that admins (desk-wide) and customer accounts (their own data) register for the
domain events of helpdesk.events; deliveries through an outbox written with the change, signed as Standard
Webhooks, retried for a day, kept in order per ticket, logged with the last answer, redelivered on request; an
endpoint that keeps failing is disabled and its owner told. Sends only to public addresses unless allowed (SSRF).

Modules: models, service (the operations every door calls), delivery (queueing and sending), tasks (the sweep),
addresses (SSRF), signing, notices (the owner's mail), audit_sentences. The HTTP sender is an adapter in
helpdesk.providers.webhook_http."""

TEMPLATES = "templates"  # the mail to an endpoint's owner
MODELS = ("models",)


def init_app(app):
    """Follow the domain events, register the sweep, the owner's notice and the audit sentences."""
    from helpdesk.webhooks import audit_sentences, notices, tasks  # noqa: F401 (audit_sentences: on import)

    tasks.register_hooks(app)
    notices.register()
