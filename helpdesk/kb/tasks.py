"""Jobs queued before the knowledge base index moved into the search package still name this path (in
``pending_jobs`` rows and Redis queues): each is handed on, as a new job, to the search package's task."""
from helpdesk.extensions import db
from helpdesk.jobs import enqueue_after_commit_batched
from helpdesk.kb.service import REINDEX_TASK


def reindex_articles(*article_ids):
    """Queue ``helpdesk.search.tasks.reindex_articles`` for these articles (it runs after this commit)."""
    for article_id in article_ids:
        enqueue_after_commit_batched(REINDEX_TASK, article_id, queue="search")
    db.session.commit()
