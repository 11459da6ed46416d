"""Users (admins, agents, customers) and organisations."""

MODELS = ("models",)
TEMPLATES = "templates"  # the mails it sends (activation, password reset)
