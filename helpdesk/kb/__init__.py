"""The knowledge base: folders, articles, revisions and "was this helpful?" feedback."""

MODELS = ("models",)
