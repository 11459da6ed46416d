"""The agents' queue: named views of the tickets an actor may see (SLA at risk and breached among them),
combinable filters, four sorts, keyset pages (an opaque cursor of the sort key and id, never OFFSET) and the
counts beside each view."""
import base64
import binascii
import ipaddress
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from helpdesk.db import parse_id, utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access, sla
from helpdesk.tickets.models import (
    CLOSED,
    HIGH,
    LOW,
    NORMAL,
    PRIORITIES,
    STATUSES,
    URGENT,
    Department,
    Ticket,
    TicketDetails,
    department_agents,
)

PER_PAGE = 25
# Counting every closed ticket on a large desk costs a scan of them all; the sidebar says "10000+".
CLOSED_COUNT_CAP = 10_000

# Named views. "By department / status / priority" are the open view with that filter set; the
# counts below give one number per department, status and priority for the sidebar.
MINE, UNASSIGNED, OPEN_VIEW, CLOSED_VIEW = "mine", "unassigned", "open", "closed"
# Open tickets whose next SLA due time is within the at-risk window, or has passed.
AT_RISK_VIEW, BREACHED_VIEW = "at_risk", "breached"
VIEWS = {MINE: _l("My tickets"), UNASSIGNED: _l("Unassigned"), OPEN_VIEW: _l("Open tickets"),
         AT_RISK_VIEW: _l("SLA at risk"), BREACHED_VIEW: _l("SLA breached"), CLOSED_VIEW: _l("Closed")}
OPEN_STATUSES = tuple(s for s in STATUSES if s != CLOSED)

ACTIVITY, PRIORITY, CREATED, DUE = "activity", "priority", "created", "due"
SORTS = {ACTIVITY: _l("Last activity"), PRIORITY: _l("Priority"), CREATED: _l("Newest"), DUE: _l("Due time")}

# A filter value meaning "none set" (no department, nobody assigned), as sent by a form.
NONE = "none"
# The server IP filter's value for "any address" (else it takes one address).
ANY = "any"
REFERENCE_FILTER_MAX = 100



def _inline(value):
    """A constant written into the SQL rather than bound, so that a partial or expression index on the
    same constants matches even in a prepared statement's generic plan."""
    return sa.literal(value, literal_execute=True)


# Higher is more urgent, so every sort runs newest/most urgent first and one row comparison pages it.
URGENCY = {URGENT: 3, HIGH: 2, NORMAL: 1, LOW: 0}
_URGENCY = sa.case(*((Ticket.priority == _inline(p), _inline(n)) for p, n in URGENCY.items()), else_=_inline(1))
_IS_OPEN = Ticket.status != _inline(CLOSED)


def _sort_key(sort):
    """The columns a sort orders by, all descending (but DUE: next due first, none last), ending with the
    id that makes the order total."""
    if sort == DUE:
        return (Ticket.sla_due_at, Ticket.id)
    if sort == PRIORITY:
        return (_URGENCY, Ticket.last_activity_at, Ticket.id)
    if sort == CREATED:
        return (Ticket.created_at, Ticket.id)
    return (Ticket.last_activity_at, Ticket.id)


def order_by(sort, backwards=False) -> list:
    """The ORDER BY of a sort's pages (``backwards``: reversed, for walking to the page before)."""
    if sort == DUE:
        return ([Ticket.sla_due_at.desc().nulls_first(), Ticket.id.desc()] if backwards
                else [Ticket.sla_due_at.asc().nulls_last(), Ticket.id.asc()])
    return [c.asc() if backwards else c.desc() for c in _sort_key(sort)]


def _key_of(ticket, sort):
    if sort == DUE:
        return [ticket.sla_due_at.isoformat() if ticket.sla_due_at else None, ticket.id]
    if sort == PRIORITY:
        urgency = URGENCY.get(ticket.priority, 1)
        return [urgency, ticket.last_activity_at.isoformat(), ticket.id]
    if sort == CREATED:
        return [ticket.created_at.isoformat(), ticket.id]
    return [ticket.last_activity_at.isoformat(), ticket.id]


def encode_cursor(sort, key) -> str:
    raw = json.dumps([sort, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, sort):
    """The typed sort key in ``cursor``; ValidationFailed for anything that is not one of ours for ``sort``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, *key = json.loads(raw)
        if name != sort or len(key) != len(_sort_key(sort)):
            raise ValueError(name)
        urgency = [int(key.pop(0))] if sort == PRIORITY else []
        if sort == DUE and key[0] is None:  # the tickets without a due time, paged by id
            ticket_id = int(key[1])
            if not 0 <= ticket_id < 2**31:
                raise ValueError("out of range")
            return [None, ticket_id]
        moment, ticket_id = datetime.fromisoformat(key[0]), int(key[1])
        if moment.tzinfo is None or not 0 <= ticket_id < 2**31 or not all(0 <= u <= 3 for u in urgency):
            raise ValueError("out of range")
        return [*urgency, moment, ticket_id]
    except (ValueError, TypeError, AttributeError, IndexError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"cursor": _l("That page link is not valid any more.")}) from None


@dataclass
class Page:
    """One page of a view: its tickets and the cursors of the pages after and before it (None at an end)."""

    tickets: list
    next_cursor: str | None = None
    prev_cursor: str | None = None


@dataclass
class Counts:
    """Numbers for the sidebar: per view, and per department (None: no department), status and
    priority among open tickets. ``closed`` stops at CLOSED_COUNT_CAP (``closed_capped`` then)."""

    views: dict = field(default_factory=dict)
    by_department: dict = field(default_factory=dict)
    by_status: dict = field(default_factory=dict)
    by_priority: dict = field(default_factory=dict)
    closed_capped: bool = False


def _choice(errors, name, value, allowed):
    if value in (None, ""):
        return None
    if value not in allowed:
        errors[name] = _l("Choose a valid value.")
    return value


def _id_or_none(errors, name, value):
    """A filter on an id column: None (no filter), NONE (the column is empty) or an id."""
    if value in (None, ""):
        return None
    if value == NONE:
        return NONE
    if parse_id(value) is not None:
        return parse_id(value)
    if hasattr(value, "id"):
        return value.id
    errors[name] = _l("Choose a valid value.")
    return None


def _server_ip(errors, value):
    """The server IP filter: None, ANY (the ticket names one) or one address (normalised as stored)."""
    value = (value or "").strip()
    if not value or value == ANY:
        return value or None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        errors["server_ip"] = _l("Enter an IPv4 or IPv6 address, such as 203.0.113.7.")
        return None


def _reference(errors, value):
    value = " ".join((value or "").split())
    if len(value) > REFERENCE_FILTER_MAX:
        errors["reference"] = _l("At most %(num)d characters.", num=REFERENCE_FILTER_MAX)
        return None
    return value or None


def _details_clause(server_ip, reference):
    """Tickets whose details (tickets/details.py) name a server IP (ANY or that one) and a reference (the order
    or service reference or the picked service's, starting with ``reference``, in any case)."""
    conditions = []
    if server_ip == ANY:
        conditions.append(TicketDetails.server_ip.is_not(None))
    elif server_ip:
        conditions.append(TicketDetails.server_ip == server_ip)
    if reference:
        pattern = reference.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(sa.or_(*(sa.func.lower(column).like(pattern, escape="\\")
                                   for column in (TicketDetails.reference, TicketDetails.service_ref))))
    return sa.exists().where(TicketDetails.ticket_id == Ticket.id, *conditions)


def _view_clause(actor, view, now, window):
    if view == AT_RISK_VIEW:
        return sa.and_(_IS_OPEN, Ticket.sla_due_at > now, Ticket.sla_due_at <= now + window)
    if view == BREACHED_VIEW:
        return sa.and_(_IS_OPEN, Ticket.sla_due_at <= now)
    if view == MINE:
        return sa.and_(_IS_OPEN, Ticket.assignee_id == actor.id)
    if view == UNASSIGNED:
        return sa.and_(_IS_OPEN, Ticket.assignee_id.is_(None))
    if view == CLOSED_VIEW:
        return Ticket.status == _inline(CLOSED)
    return _IS_OPEN


def tickets_in(actor, view=OPEN_VIEW, *, status=None, priority=None, department=None, assignee=None,
               server_ip=None, reference=None, now=None):
    """A select of the tickets in ``view`` that ``actor`` may see, narrowed by every filter given.

    ``department`` and ``assignee`` take an id, a model, or NONE for "no department" / "unassigned".
    ``server_ip`` (ANY or an address) and ``reference`` (the start of one) look at the ticket's details.
    ``now`` (default: the current time) places the SLA views. Raises ValidationFailed naming each unknown value."""
    errors = {}
    if view not in VIEWS:
        errors["view"] = _l("Choose a valid view.")
    status = _choice(errors, "status", status, STATUSES)
    priority = _choice(errors, "priority", priority, PRIORITIES)
    department = _id_or_none(errors, "department", department)
    assignee = _id_or_none(errors, "assignee", assignee)
    server_ip = _server_ip(errors, server_ip)
    reference = _reference(errors, reference)
    if errors:
        raise ValidationFailed(errors)
    query = access.visible_tickets(actor).where(_view_clause(actor, view, now or utcnow(), sla.at_risk_window()))
    if status:
        query = query.where(Ticket.status == status)
    if priority:
        query = query.where(Ticket.priority == priority)
    if department == NONE:
        query = query.where(Ticket.department_id.is_(None))
    elif department is not None:
        query = query.where(Ticket.department_id == department)
    if assignee == NONE:
        query = query.where(Ticket.assignee_id.is_(None))
    elif assignee is not None:
        query = query.where(Ticket.assignee_id == assignee)
    if server_ip or reference:
        query = query.where(_details_clause(server_ip, reference))
    return query


def page(actor, view=OPEN_VIEW, *, sort=ACTIVITY, after=None, before=None, per_page=PER_PAGE, **filters) -> Page:
    """One page of ``view`` (see ``tickets_in`` for the filters), sorted by ``sort``, starting after
    the cursor ``after`` or ending before the cursor ``before`` (neither: the first page)."""
    if sort not in SORTS:
        raise ValidationFailed({"sort": _l("Choose a valid sort order.")})
    query = tickets_in(actor, view, **filters)
    columns = _sort_key(sort)
    backwards = bool(before) and not after
    cursor = before if backwards else after
    if sort == DUE and cursor:
        query = query.where(_due_beyond(decode_cursor(cursor, sort), backwards))
    elif cursor:
        key = sa.tuple_(*columns)
        values = sa.tuple_(*(sa.literal(v, type_=c.type) for v, c in zip(decode_cursor(cursor, sort), columns,
                                                                           strict=True)))
        query = query.where(key > values if backwards else key < values)
    rows = db.session.scalars(
        query.options(selectinload(Ticket.department), selectinload(Ticket.requester),
                      selectinload(Ticket.assignee))
        .order_by(*order_by(sort, backwards)).limit(per_page + 1)
    ).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    result = Page(rows)
    if rows:
        # Going forward there is a page before whenever we came from one; going back, the mirror.
        has_next = more if not backwards else True
        has_prev = bool(cursor) if not backwards else more
        if has_next:
            result.next_cursor = encode_cursor(sort, _key_of(rows[-1], sort))
        if has_prev:
            result.prev_cursor = encode_cursor(sort, _key_of(rows[0], sort))
    return result


def _due_beyond(key, backwards):
    """Rows after (or, going back, before) the cursor ``key`` in the order next-due-first, none last."""
    due, ticket_id = key
    if backwards:
        if due is None:
            return sa.or_(Ticket.sla_due_at.is_not(None), sa.and_(Ticket.sla_due_at.is_(None), Ticket.id < ticket_id))
        return sa.or_(Ticket.sla_due_at < due, sa.and_(Ticket.sla_due_at == due, Ticket.id < ticket_id))
    if due is None:
        return sa.and_(Ticket.sla_due_at.is_(None), Ticket.id > ticket_id)
    return sa.or_(Ticket.sla_due_at > due, sa.and_(Ticket.sla_due_at == due, Ticket.id > ticket_id),
                  Ticket.sla_due_at.is_(None))


_COUNTS_CACHE: dict = {}
_COUNTS_LOCK = threading.Lock()


def cached_counts(actor) -> Counts:
    """``counts(actor)``, reused for QUEUE_COUNTS_CACHE_SECONDS (per process): on a big desk they cost more
    than the page around them, and a few seconds' lag in a sidebar number is harmless. 0 turns it off."""
    ttl = float(current_app.config["QUEUE_COUNTS_CACHE_SECONDS"] or 0)
    if ttl <= 0:
        return counts(actor)
    key = (current_app.name, str(current_app.config["SQLALCHEMY_DATABASE_URI"]), actor.id, actor.role)
    now = time.monotonic()
    with _COUNTS_LOCK:
        hit = _COUNTS_CACHE.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    result = counts(actor)
    with _COUNTS_LOCK:
        if len(_COUNTS_CACHE) > 2000:  # an agent who left long ago need not be remembered
            _COUNTS_CACHE.clear()
        _COUNTS_CACHE[key] = (now, result)
    return result


def forget_counts():
    """Drop this process's cached counts (after a change its author expects to see counted)."""
    with _COUNTS_LOCK:
        _COUNTS_CACHE.clear()


def counts(actor, now=None) -> Counts:
    """The sidebar's numbers in three queries: one GROUP BY over the open tickets ``actor`` may see,
    one over those due within the SLA at-risk window of ``now`` (default: the current time), and a
    capped count of the closed ones."""
    who = sa.case((Ticket.assignee_id == actor.id, MINE), (Ticket.assignee_id.is_(None), UNASSIGNED),
                  else_="other") if actor.id is not None else sa.case(
        (Ticket.assignee_id.is_(None), UNASSIGNED), else_="other")
    grouped = (access.visible_tickets(actor).where(_IS_OPEN)
               .with_only_columns(Ticket.status, Ticket.priority, Ticket.department_id, who.label("who"),
                                  sa.func.count())
               .group_by(Ticket.status, Ticket.priority, Ticket.department_id, who))
    result = Counts(views={MINE: 0, UNASSIGNED: 0, OPEN_VIEW: 0, AT_RISK_VIEW: 0, BREACHED_VIEW: 0, CLOSED_VIEW: 0},
                    by_status={s: 0 for s in OPEN_STATUSES}, by_priority={p: 0 for p in PRIORITIES})
    for status, priority, department_id, assigned, n in db.session.execute(grouped):
        result.views[OPEN_VIEW] += n
        if assigned in (MINE, UNASSIGNED):
            result.views[assigned] += n
        result.by_status[status] = result.by_status.get(status, 0) + n
        result.by_priority[priority] = result.by_priority.get(priority, 0) + n
        result.by_department[department_id] = result.by_department.get(department_id, 0) + n
    now = now or utcnow()
    overdue = sa.case((Ticket.sla_due_at <= now, 1), else_=0)
    breached, due_soon = db.session.execute(
        access.visible_tickets(actor).where(_IS_OPEN, Ticket.sla_due_at <= now + sla.at_risk_window())
        .with_only_columns(sa.func.coalesce(sa.func.sum(overdue), 0), sa.func.count())).one()
    result.views[BREACHED_VIEW], result.views[AT_RISK_VIEW] = breached, due_soon - breached
    closed = (access.visible_tickets(actor).where(Ticket.status == _inline(CLOSED)).with_only_columns(Ticket.id)
              .limit(CLOSED_COUNT_CAP + 1).subquery())
    n_closed = db.session.scalar(sa.select(sa.func.count()).select_from(closed))
    result.views[CLOSED_VIEW] = min(n_closed, CLOSED_COUNT_CAP)
    result.closed_capped = n_closed > CLOSED_COUNT_CAP
    return result


def departments_for(actor, counts_: Counts) -> list:
    """The departments the sidebar lists: the actor's own (every one for admins and agents in no
    department) and any other that has open tickets the actor sees."""
    own = set() if actor.is_system or actor.is_admin else set(db.session.scalars(
        sa.select(department_agents.c.department_id).where(department_agents.c.user_id == actor.id)))
    query = sa.select(Department).order_by(Department.name)
    if own:
        ids = own | {d for d in counts_.by_department if d is not None}
        query = query.where(Department.id.in_(ids))
    return db.session.scalars(query).all()
