"""The steps ticket operations are built from: lock the ticket, add a message or a system event, change the
status, add a CC, update the search entry after commit. Shared by the ticket modules (service, customers,
merge); none of them checks permissions or commits: the public operation that calls them does."""
import re

import sqlalchemy as sa

from helpdesk import audit, storage
from helpdesk import events as domain_events
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.db import ensure_ids, utcnow
from helpdesk.extensions import db
from helpdesk.notify.message_ids import new_message_id
from helpdesk.sanitize import clean_name
from helpdesk.tickets import reply_matching, sla
from helpdesk.tickets.checks import safe_filename
from helpdesk.tickets.models import CC, CLOSED, INTERNAL_NOTE, SYSTEM_EVENT, Attachment, Message, Participant, Ticket
from helpdesk.tickets.watchers import TICKET_CHANGES


def reindex_after_commit(ticket):
    """Tell whoever follows ticket changes (the search index) once the transaction commits; their jobs are
    batched, one index write per commit for all its tickets: a mail batch of a hundred tickets is one write.
    Every change an index entry shows passes through here: a message, a system event, a new subject."""
    TICKET_CHANGES.changed(ticket)


def reindex_ids_after_commit(ticket_ids):
    """``reindex_after_commit`` for tickets known only by id."""
    for ticket_id in ticket_ids:
        TICKET_CHANGES.changed(ticket_id)


def store_attachments(ticket, message, attachments):
    stored = []
    for item in attachments:
        key, size = storage.put(item.data)
        row = Attachment(
            ticket=ticket, message=message, filename=safe_filename(item.filename),
            content_type=(item.content_type or "application/octet-stream").lower()[:127], size=size, sha256=key,
            content_id=item.content_id,
        )
        db.session.add(row)
        stored.append(row)
    return stored


def add_message(ticket, *, kind, author, text, html, source, message_id=None, in_reply_to=None,
                author_email=None, author_name=None, attachments=(), events=(), batch=None):
    """A message on the ticket with its attachments (cid: images linked to them) and the system ``events``
    recorded with it; any message but an internal note is activity on the ticket."""
    now = utcnow()
    message = Message(
        ticket=ticket, kind=kind, author=author if isinstance(author, User) else None,
        author_email=author_email or getattr(author, "email", None),
        # Names from a form or a From header can be longer than the column (PostgreSQL would refuse them).
        author_name=clean_name(author_name or getattr(author, "full_name", None) or "") or None,
        body_text=text, body_html=html, source=source, created_at=now,
        message_id=message_id or new_message_id(str(ticket.number)), in_reply_to=in_reply_to,
    )
    db.session.add(message)
    reply_matching.remember(ticket, message_id=message.message_id, batch=batch)
    reindex_after_commit(ticket)
    stored = store_attachments(ticket, message, attachments)
    if "cid:" in html and any(a.content_id for a in stored):
        ensure_ids(db.session, *stored)  # the attachments' ids go into the HTML
        message.body_html = _link_inline_images(html, stored)
    if kind != INTERNAL_NOTE:
        ticket.last_activity_at = now
    for event in events:
        system_event(ticket, None, event)
    ensure_ids(db.session, message)
    announce("message.added", ticket, batch, staff_only=kind == INTERNAL_NOTE,
             message={"id": message.id, "kind": kind, "source": source, "created_at": now.isoformat()})
    return message


def announce(kind, ticket, batch=None, staff_only=False, **data):
    """Tell the domain events' followers (webhooks) that ``kind`` happened to ``ticket`` in this transaction;
    ``staff_only`` (an internal note): not the customer account's. Ordered per ticket."""
    account = ticket.customer_account
    domain_events.emit(kind, {"ticket": {"number": ticket.number, "subject": ticket.subject,
                                         "status": ticket.status, "priority": ticket.priority}, **data},
                       account_ids=() if staff_only else (account.id if account is not None else None,),
                       key=f"ticket:{ticket.number}", batch=batch)


def _link_inline_images(html, stored):
    """Point cid: references at the stored attachments (served by the web app with access checks)."""
    by_cid = {a.content_id: a for a in stored if a.content_id}

    def replace(match):
        attachment = by_cid.get(match.group(2))
        return f'{match.group(1)}/attachments/{attachment.id}"' if attachment else match.group(0)

    return re.sub(r'(src=")cid:([^"]+)"', replace, html)


def system_event(ticket, actor, event: dict):
    """A line in the thread saying what changed, kept as data (``event``) and rendered in the reader's
    language. ``actor`` None means the event is part of another change (e.g. a dropped attachment)."""
    message = Message(
        ticket=ticket, kind=SYSTEM_EVENT, author_id=getattr(actor, "id", None),
        author_name=getattr(actor, "full_name", None) or getattr(actor, "name", None),
        body_text=" ".join(f"{k}={v}" for k, v in event.items()), body_html="", source="system",
        message_id=None, event=event,
    )
    db.session.add(message)
    reindex_after_commit(ticket)
    return message


def set_status(ticket, actor, status):
    """Change the status (nothing when it is the same): the closing time, the SLA clocks, a system event and
    an audit row follow it."""
    old = ticket.status
    if old == status:
        return
    ticket.status = status
    if status == CLOSED:
        ticket.closed_at = utcnow()
    elif old == CLOSED:
        ticket.closed_at = None
    sla.on_status_changed(ticket, old, status, utcnow())
    system_event(ticket, actor, {"type": "status", "from": old, "to": status})
    audit.record(actor, "ticket", ticket, "status-changed", {"status": [old, status]})
    announce("ticket.closed" if status == CLOSED else "ticket.updated", ticket, changes={"status": [old, status]})


def add_cc(ticket, email, name="", known=None, batch=None):
    """Add ``email`` as a CC unless it is on the ticket; ``known`` is a ``users_by_email`` result.
    Returns (participant, whether it was added)."""
    existing = next((p for p in ticket.participants if p.email == email), None)
    if existing is not None:
        return existing, False
    user = (known if known is not None else accounts.users_by_email([email], batch)).get(email)
    participant = Participant(ticket=ticket, email=email, name=clean_name(name), role=CC, user=user)
    db.session.add(participant)
    return participant, True


_LOCKED_COLUMNS = ["subject", "status", "priority", "department_id", "assignee_id", "first_response_at",
                   "closed_at", "last_activity_at"]
_LOCKED_COLUMNS += ["first_response_due_at", "resolution_due_at", "sla_started_at", "sla_paused_at",
                    "sla_paused_minutes"]  # the SLA clocks (tickets/sla/clock.py) change with the status


def lock(ticket, batch=None):
    """Re-read the ticket's columns under a row lock (one SELECT ... FOR UPDATE) so concurrent
    changes serialise instead of overwriting each other. SQLite has no row locks: there a transaction
    whose snapshot went stale is refused at its first write, so nothing is overwritten unseen. In a
    deferred ``batch`` a ticket is locked once."""
    if db.session.get_bind().dialect.name == "sqlite" or sa.inspect(ticket).pending:
        return
    locked = batch.index("locked_tickets") if batch is not None else None
    if locked is None:
        db.session.refresh(ticket, attribute_names=_LOCKED_COLUMNS, with_for_update=True)
    elif ticket.id not in locked:
        # A deferred batch may already hold unwritten changes to the ticket: lock without re-reading.
        locked[ticket.id] = True
        if sa.inspect(ticket).modified:
            db.session.execute(sa.select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
        else:
            db.session.refresh(ticket, attribute_names=_LOCKED_COLUMNS, with_for_update=True)
