"""The ticket store: tickets, their messages, participants and attachments, and every operation on them."""

MODELS = ("models", "canned", "presence", "satisfaction", "sla_models", "guest_links")
TEMPLATES = "templates"  # the mails it sends
