"""Knowledge base index jobs, run from the ``search`` queue (one worker: Whoosh allows one writer per index)."""
from helpdesk.kb import index


def reindex_articles(*article_ids):
    """Bring these articles' index entries up to date with the database (removed if gone or emptied).
    Idempotent: it reads the current state, so running it twice or late does no harm."""
    index.index_articles(article_ids)
