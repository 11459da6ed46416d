"""Full-text search of tickets (Whoosh), behind the small interface of ``helpdesk.search.index``."""
