"""Full-text search of tickets (``helpdesk.search.index``) and knowledge base articles
(``helpdesk.search.articles``) on the backend SEARCH_BACKEND names (``helpdesk.search.backend``: the interface;
``whoosh_backend``: Whoosh; ``postgres_backend``: PostgreSQL full-text search). Callers use those two
modules' public functions and the jobs in ``tasks``."""


def init_app(app):
    """Follow ticket and article changes: their search entries are written after each commit, on the
    ``search`` queue. The PostgreSQL backend refuses to start on another database."""
    if app.config.get("SEARCH_BACKEND") == "postgresql":
        from helpdesk.search.postgres_backend import check_database

        check_database(app)
    from helpdesk.kb.service import ARTICLE_CHANGES
    from helpdesk.search import tasks
    from helpdesk.tickets.watchers import TICKET_CHANGES

    TICKET_CHANGES.follow(tasks.reindex_tickets, queue="search")
    ARTICLE_CHANGES.follow(tasks.reindex_articles, queue="search")
