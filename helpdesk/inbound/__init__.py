"""Mail that came in, whichever way it was fetched: the stored raw messages and what became of them, the
quarantine agents work through, delivery routes, and the OAuth 2 grants of the mailboxes. The mail gateway (a
door) fills it; the console and the CLI read it and act on it."""

MODELS = ("models",)
