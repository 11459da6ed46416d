"""The ticket store: tickets, their messages, participants and attachments, and every operation on them."""

MODELS = ("models", "canned", "presence", "satisfaction", "sla_models")
TEMPLATES = "templates"  # the mails it sends
