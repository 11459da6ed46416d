"""Generic outgoing delivery: outbox rows written in the caller's transaction, sent by jobs after
commit with retries. Knows nothing of tickets; callers hand it rendered content and headers."""

MODELS = ("models",)
