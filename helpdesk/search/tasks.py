"""Search jobs, run from the ``search`` queue (one worker: a Whoosh index allows one writer). Their paths
(``helpdesk.search.tasks.<name>``) are stored in ``pending_jobs`` rows and Redis queues: keep them."""
from helpdesk.search import articles, index


def reindex_ticket(ticket_id):
    """Bring the ticket's index entry up to date with the database (removed if the ticket is gone).
    Idempotent: it reads the current state, so running it twice or late does no harm."""
    index.index_ticket(ticket_id)


def reindex_tickets(*ticket_ids):
    """``reindex_ticket`` for many tickets at once: one index write for all of them."""
    index.index_tickets(ticket_ids)


def reindex_articles(*article_ids):
    """Bring these knowledge base articles' index entries up to date with the database (removed if gone
    or emptied), in one index write. Idempotent."""
    articles.index_articles(article_ids)
