"""Search jobs, run from the ``search`` queue (one worker: Whoosh allows one writer per index)."""
from helpdesk.search import index


def reindex_ticket(ticket_id):
    """Bring the ticket's index entry up to date with the database (removed if the ticket is gone).
    Idempotent: it reads the current state, so running it twice or late does no harm."""
    index.index_ticket(ticket_id)


def reindex_tickets(*ticket_ids):
    """``reindex_ticket`` for many tickets at once: one index write for all of them."""
    index.index_tickets(ticket_ids)
