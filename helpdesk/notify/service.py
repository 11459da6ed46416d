"""Queue an email: an outbox row in the caller's transaction plus a delivery job after commit."""
import importlib

from helpdesk.db import add_row
from helpdesk.extensions import db
from helpdesk.jobs import enqueue_after_commit_batched, task_path
from helpdesk.notify.message_ids import new_message_id
from helpdesk.notify.models import OutboxEmail
from helpdesk.sanitize import clean_name

MAIL_QUEUE = "mail"


def queue_email(*, sender, recipient, recipient_name="", subject="", body_text="", body_html=None, headers=None,
                attachments=(), ticket_id=None, message_id=None, render_with=None, render_args=None):
    """Add an outbox row for one recipient; it is sent after the caller commits. Never commits. Returns the
    OutboxEmail (in a deferred batch, its id: the row is written without an object, see ``db.add_row``).
    With ``render_with`` (a function ``f(row)`` that sets subject, body_text and body_html from
    ``row.render_args``; its dotted path is stored) the mail is rendered by the delivery job instead of now."""
    from helpdesk.notify.tasks import deliver_many  # the job that sends it (tasks imports this module)

    row = add_row(
        db.session, OutboxEmail,
        sender=sender,
        recipient=recipient,
        recipient_name=clean_name(recipient_name),  # a line break would break the To header
        subject=" ".join(subject.split())[:998],
        body_text=body_text,
        body_html=body_html,
        headers=dict(headers or {}),
        attachments=list(attachments),
        ticket_id=ticket_id,
        message_id=message_id or new_message_id(),
        render_with=task_path(render_with) if render_with else None,
        render_args=render_args,
    )
    # Passed as the row itself (or its id, in a deferred batch): its id exists once the transaction flushes
    # (jobs get the id). All the mail of one commit (a gateway batch's acknowledgements) goes to one job.
    enqueue_after_commit_batched(deliver_many, row, queue=MAIL_QUEUE)
    return row


_MOVED_RENDERERS = {}


def renderer_moved(old_path: str, renderer) -> None:
    """Mail queued with ``render_with`` naming ``old_path`` is rendered by ``renderer`` (it moved since)."""
    _MOVED_RENDERERS[old_path] = task_path(renderer)


def _renderer(path):
    module, _, name = _MOVED_RENDERERS.get(path, path).rpartition(".")
    return getattr(importlib.import_module(module), name)


def prefetch_for_render(rows):
    """Load what rendering ``rows`` will read, a few queries for all of them: a renderer ``f`` may come with
    ``f.prefetch(rows)``, which returns what it loaded. Keep the result while rendering: the session holds
    loaded objects only as long as someone else does."""
    loaded, by_renderer = [], {}
    for row in rows:
        if row.render_with:
            by_renderer.setdefault(row.render_with, []).append(row)
    for path, group in by_renderer.items():
        prefetch = getattr(_renderer(path), "prefetch", None)
        if prefetch is not None:
            loaded.extend(prefetch(group) or ())
    return loaded


def render(row: OutboxEmail):
    """Fill in a mail queued with ``render_with``; a no-op for one rendered already."""
    if not row.render_with:
        return
    _renderer(row.render_with)(row)
    row.subject = " ".join((row.subject or "").split())[:998]
    row.render_with = None
