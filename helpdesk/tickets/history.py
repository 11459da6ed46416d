"""The audit trail read back: a ticket's history for the agents who may act on it, and the whole trail for
admins (filtered by actor and date, in keyset pages); each row told as sentences in the reader's language."""
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.audit import sentences
from helpdesk.audit.models import AuditEvent
from helpdesk.db import parse_id
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access

PAGE_SIZE = 50


@dataclass(frozen=True)
class Entry:
    """One audit row as people read it."""

    id: int
    at: datetime
    actor: str
    sentences: list
    entity: str
    entity_id: int | None
    subject: object = None  # the Ref of the object the row is about
    kind: object = ""  # what readers call that kind of object
    ticket_number: int | None = None


def _entries(rows):
    """Each row as sentences, by the registry the domain packages fill (helpdesk.audit.sentences)."""
    return [Entry(id=told.id, at=told.at, actor=told.actor, sentences=told.sentences, entity=row.entity,
                  entity_id=row.entity_id, subject=told.subject, kind=told.kind,
                  ticket_number=told.subject.key if row.entity == "ticket" else None)
            for row, told in zip(rows, sentences.tell(rows), strict=True)]


def ticket_history(actor, ticket) -> list[Entry]:
    """The audit rows of ``ticket``, oldest first; agents who may act on the ticket (and admins) only."""
    access.require_agent(actor)
    access.require(actor, ticket, "note")
    rows = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "ticket", AuditEvent.entity_id == ticket.id)
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    return _entries(rows)


@dataclass(frozen=True)
class TrailPage:
    entries: list
    next_before: int | None


def audit_trail(actor, *, actor_email="", since=None, until=None, before=None) -> TrailPage:
    """A page of the whole audit trail, newest first (admins only): rows by the user with ``actor_email``,
    from the day ``since`` to the day ``until`` (dates, both included), older than row id ``before``."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    errors = {}
    query = sa.select(AuditEvent)
    if (actor_email or "").strip():
        user = accounts.get_by_email(actor_email)
        if user is None:
            errors["actor"] = _l("No user has this email address.")
        else:
            query = query.where(AuditEvent.actor_id == user.id)
    if since and until and since > until:
        errors["until"] = _l("The end date is before the start date.")
    if errors:
        raise ValidationFailed(errors)
    # Dates are whole UTC days (the audit rows keep UTC).
    if since:
        query = query.where(AuditEvent.created_at >= datetime.combine(since, time.min, tzinfo=UTC))
    if until:
        query = query.where(AuditEvent.created_at < datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC))
    if parse_id(before) is not None:
        query = query.where(AuditEvent.id < parse_id(before))
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return TrailPage(entries=_entries(rows), next_before=rows[-1].id if more else None)
