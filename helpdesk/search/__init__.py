"""Full-text search of tickets (``helpdesk.search.index``) and knowledge base articles
(``helpdesk.search.articles``) on the backend SEARCH_BACKEND names (``helpdesk.search.backend``: the interface;
``whoosh_backend``: Whoosh). Callers use those two modules' public functions and the jobs in ``tasks``."""
