"""Live chat (issue 21): chats between a visitor (a guest who gave a name and email, or a logged-in customer) and
agents, kept in the ticket store's database whether or not they become tickets. Every message is written before it
is delivered; delivery is a nudge through the hub (Redis pub/sub across processes, in-process without Redis) after
the commit, and every stream reads what it has not sent from the database, so a dropped connection or a restarted
process loses nothing.

Modules: models; service (the operations every door calls); routing (waiting chats, departments, per-agent
limits, availability, chat hours); convert (chat to ticket, leave a message as a ticket); transcript (mail on
request); hub (publish after commit, subscribe). The HTTP door is helpdesk.livechat."""

TEMPLATES = "templates"  # the transcript mail
MODELS = ("models",)


def init_app(app):
    """Register the audit sentences of chat actions; the door registers the hub."""
    from helpdesk.chat import audit_sentences  # noqa: F401 (registers on import)
