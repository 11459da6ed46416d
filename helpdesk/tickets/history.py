"""The audit trail read back: a ticket's history for the agents who may act on it, and the whole trail for
admins (filtered by actor and date, in keyset pages); each row told as a sentence in the reader's language."""
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.audit.models import AuditEvent
from helpdesk.db import parse_id
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access
from helpdesk.tickets.events import describe_event
from helpdesk.tickets.models import Department, Ticket
from helpdesk.tickets.satisfaction import RATINGS

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
    ticket_number: int | None = None


def _pair(value):
    return value if isinstance(value, list) and len(value) == 2 else [None, value]


def _names(model, column, ids):
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(model.id, column).where(model.id.in_(ids))).all())


def _ids_in(rows):
    """Users and departments the rows refer to by id, so each is looked up once."""
    users, departments = set(), set()
    for row in rows:
        changes = row.changes or {}
        users.add(row.actor_id)
        if "assignee" in changes:
            users.update(_pair(changes["assignee"]))
        if "department" in changes:
            departments.update(_pair(changes["department"]))
        if "departments" in changes:
            for value in _pair(changes["departments"]):
                departments.update(value or ())
        if "agent" in changes:
            users.add(changes["agent"])
        if row.entity == "user":
            users.add(row.entity_id)
        if row.entity == "department":
            departments.add(row.entity_id)
    return users, departments


def _status_changed(changes):
    old, new = _pair(changes.get("status"))
    return [describe_event({"type": "status", "from": old, "to": new})]


def _rated(changes):
    old, new = _pair(changes.get("rating"))
    label = str(RATINGS.get(new, new))
    return [_("Changed the rating to: %(rating)s", rating=label) if old else _("Rated the ticket: %(rating)s",
                                                                             rating=label)]


def _ticket_changed(changes, users, departments):
    """A sentence per field an ``update_ticket`` call changed."""
    sentences = []
    if "subject" in changes:
        old, new = _pair(changes["subject"])
        sentences.append(_("Subject changed from “%(old)s” to “%(new)s”.", old=old or "", new=new or ""))
    if "priority" in changes:
        old, new = _pair(changes["priority"])
        sentences.append(describe_event({"type": "priority", "from": old, "to": new}))
    if "department" in changes:
        old, new = _pair(changes["department"])
        sentences.append(describe_event({"type": "department", "from": departments.get(old, ""),
                                         "to": departments.get(new, "")}))
    if "assignee" in changes:
        new = _pair(changes["assignee"])[1]
        sentences.append(describe_event({"type": "assignee", "to": users.get(new, "") if new else ""}))
    return sentences or [_("Changed the ticket.")]


# The sentences of a ticket's audit rows by action (each from the row's ``changes``).
_TICKET_ACTIONS = {
    "opened": lambda changes: [_("Opened the ticket.")],
    "customer-message": lambda changes: [_("Added a message from the customer side.")],
    "agent-reply": lambda changes: [_("Replied to the customer.")],
    "internal-note": lambda changes: [_("Added an internal note.")],
    "cc-added": lambda changes: [_("Added %(emails)s in copy.", emails=", ".join(changes.get("emails") or []))],
    "cc-removed": lambda changes: [_("Removed %(email)s from copy.", email=changes.get("email", ""))],
    "status-changed": _status_changed,
    "rated": _rated,
    "events": lambda changes: [_("Recorded events: %(types)s", types=", ".join(changes.get("types") or []))],
}


def _ticket_sentences(row, users, departments):
    changes = row.changes or {}
    action = row.action
    if action in _TICKET_ACTIONS:
        return _TICKET_ACTIONS[action](changes)
    if action == "changed":
        return _ticket_changed(changes, users, departments)
    return [_("Changed the ticket (%(action)s).", action=action)]


def _staff_changed(who, changes, departments):
    sentences = []
    if "role" in changes:
        sentences.append(_("Changed the role of %(name)s to %(role)s.", name=who, role=_pair(changes["role"])[1]))
    if "departments" in changes:
        new = _pair(changes["departments"])[1] or []
        sentences.append(_("Set the departments of %(name)s: %(departments)s.", name=who,
                           departments=", ".join(departments.get(d, f"#{d}") for d in new) or _("none")))
    return sentences


def _user_sentences(row, changes, users, departments):
    who = users.get(row.entity_id) or f"#{row.entity_id}"
    action = row.action
    if action == "created":
        return [_("Created the account of %(name)s.", name=who)]
    if action == "deactivated":
        return [_("Deactivated %(name)s.", name=who)]
    if action == "reactivated":
        return [_("Reactivated %(name)s.", name=who)]
    if action == "invitation-sent":
        return [_("Sent %(name)s a new link to choose a password.", name=who)]
    if action == "staff-changed":
        return _staff_changed(who, changes, departments)
    return [_("Changed the account of %(name)s (%(action)s).", name=who, action=action)]


def _department_sentences(row, changes, users, departments):
    """None for an action without its own sentence."""
    name = departments.get(row.entity_id) or f"#{row.entity_id}"
    if row.action == "created":
        return [_("Created the department %(name)s.", name=name)]
    if row.action == "changed":
        return [_("Changed the department %(name)s: %(fields)s.", name=name,
                  fields=", ".join(str(DEPARTMENT_FIELDS.get(k, k)) for k in changes))]
    if row.action == "agent-added":
        return [_("Added %(agent)s to the department %(name)s.", agent=users.get(changes.get("agent"), ""),
                  name=name)]
    return None


def _other_sentences(row, users, departments):
    changes = row.changes or {}
    if row.entity == "user":
        return _user_sentences(row, changes, users, departments)
    if row.entity == "department":
        sentences = _department_sentences(row, changes, users, departments)
        if sentences is not None:
            return sentences
    return [_("%(entity)s #%(id)s: %(action)s", entity=row.entity, id=row.entity_id, action=row.action)]


DEPARTMENT_FIELDS = {"name": _l("name"), "inbound_address": _l("inbound address"),
                     "reply_from_address": _l("reply-from address"), "signature": _l("signature")}


def _entries(rows):
    user_ids, department_ids = _ids_in(rows)
    user_ids = {i for i in user_ids if isinstance(i, int)}
    users = {i: (name or email) for i, name, email in db.session.execute(
        sa.select(User.id, User.full_name, User.email).where(User.id.in_(user_ids))
    ).all()} if user_ids else {}
    departments = _names(Department, Department.name, department_ids)
    numbers = _names(Ticket, Ticket.number, [r.entity_id for r in rows if r.entity == "ticket"])
    entries = []
    for row in rows:
        if row.actor_id in users:
            actor = users[row.actor_id]
        elif row.actor_label.startswith("system:"):
            actor = _("The helpdesk (%(name)s)", name=row.actor_label.split(":", 1)[1])
        else:
            actor = row.actor_label
        describe = _ticket_sentences if row.entity == "ticket" else _other_sentences
        entries.append(Entry(id=row.id, at=row.created_at, actor=actor, sentences=describe(row, users, departments),
                             entity=row.entity, entity_id=row.entity_id,
                             ticket_number=numbers.get(row.entity_id) if row.entity == "ticket" else None))
    return entries


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
