"""Jobs queued before the knowledge base index moved into the search package still name this path (in
``pending_jobs`` rows and Redis queues): each is handed on, as a new job, to whoever follows article changes."""
from helpdesk.extensions import db
from helpdesk.kb.service import ARTICLE_CHANGES


def reindex_articles(*article_ids):
    """Tell the followers of article changes about these articles (their jobs run after this commit)."""
    for article_id in article_ids:
        ARTICLE_CHANGES.changed(article_id)
    db.session.commit()
