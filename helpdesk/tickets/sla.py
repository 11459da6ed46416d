"""Service level agreements: how soon a ticket needs its first response and its resolution, the
business calendar those clocks may count in, the clocks' reaction to every state change of a ticket,
breach detection and the admins' changes to targets, business hours and holidays.

Without configured targets these defaults apply (minutes; "business" counts only business hours):

    priority  first response        resolution               clock
    urgent    10 min                4 h                      wall clock (around the clock)
    high      10 min                8 h  (1 business day)    business hours
    normal    4 h                   24 h (3 business days)   business hours
    low       8 h (1 business day)  40 h (5 business days)   business hours

Without configured business hours a business day is Monday to Friday, 09:00 to 17:00 in
BUSINESS_TIMEZONE. The resolution clock stands still while a ticket waits on the customer, stops
when it is closed and starts again from zero when it is reopened."""
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import formataddr
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk import audit
from helpdesk.accounts.models import ROLE_ADMIN, ROLE_AGENT, User
from helpdesk.db import commit_service_call, deferred_index, parse_id, utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.jobs import enqueue_after_commit_batched
from helpdesk.notify.service import new_message_id, queue_email
from helpdesk.tickets.models import (
    CLOSED,
    HIGH,
    LOW,
    NORMAL,
    PRIORITIES,
    SYSTEM_EVENT,
    URGENT,
    WAITING,
    Department,
    Message,
    Ticket,
)
from helpdesk.tickets.reply_matching import subject_tag
from helpdesk.tickets.sla_models import BusinessDay, Holiday, SLATarget

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
CLOCKS = {FIRST_RESPONSE: _l("first response"), RESOLUTION: _l("resolution")}
# What the queue and the ticket page say about a ticket's next due time.
BREACHED, AT_RISK, ON_TRACK, PAUSED = "breached", "at_risk", "on_track", "paused"

WEEKDAYS = {0: _l("Monday"), 1: _l("Tuesday"), 2: _l("Wednesday"), 3: _l("Thursday"), 4: _l("Friday"),
            5: _l("Saturday"), 6: _l("Sunday")}
MINUTES_PER_DAY = 24 * 60
MAX_TARGET_MINUTES = 366 * MINUTES_PER_DAY
# A clock counting business time gives up after this many calendar days without enough open hours.
_MAX_DAYS = 3660
# Same task path as tickets/service.py: the event line changes what the search index shows.
REINDEX_TASK = "helpdesk.search.tasks.reindex_tickets"


@dataclass(frozen=True)
class Target:
    first_response_minutes: int
    resolution_minutes: int
    business_hours: bool


DEFAULT_TARGETS = {
    URGENT: Target(10, 4 * 60, False),
    HIGH: Target(10, 8 * 60, True),
    NORMAL: Target(4 * 60, 24 * 60, True),
    LOW: Target(8 * 60, 40 * 60, True),
}
DEFAULT_HOURS = {weekday: (9 * 60, 17 * 60) for weekday in range(5)}


# --------------------------------------------------------------------------- the business calendar (pure)

@dataclass(frozen=True)
class Calendar:
    """Weekly business hours (weekday → (opening, closing) minutes after local midnight; closing may be
    1440, the next midnight) and holidays (local dates), in one time zone."""

    zone: ZoneInfo
    hours: Mapping = field(default_factory=lambda: dict(DEFAULT_HOURS))
    holidays: frozenset = frozenset()

    def window(self, day: date):
        """(opening, closing) of local ``day`` as UTC instants, or None on a closed day. Local times
        are turned into instants on that day, so a DST change shortens or lengthens only the night."""
        if day in self.holidays or day.weekday() not in self.hours:
            return None
        opens, closes = self.hours[day.weekday()]
        return _instant(day, opens, self.zone), _instant(day, closes, self.zone)


def _instant(day, minute, zone):
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)


def add_minutes(start: datetime, minutes: int, calendar: Calendar | None = None) -> datetime:
    """The instant ``minutes`` after ``start``: wall-clock minutes when ``calendar`` is None, otherwise
    minutes within its business hours (a start outside them counts from the next opening)."""
    if calendar is None:
        return start + timedelta(minutes=minutes)
    if not calendar.hours:
        raise ValueError("a business calendar needs at least one open weekday")
    remaining = timedelta(minutes=minutes)
    day = start.astimezone(calendar.zone).date()
    for _i in range(_MAX_DAYS):
        window = calendar.window(day)
        if window is not None:
            begin, end = max(window[0], start), window[1]
            if begin < end or (begin == end and not remaining):
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)
    raise ValueError("no business hours within ten years")


def minutes_between(start: datetime, end: datetime, calendar: Calendar | None = None) -> int:
    """Whole minutes from ``start`` to ``end`` (0 when end is not later): wall-clock minutes when
    ``calendar`` is None, otherwise only those within its business hours."""
    if end <= start:
        return 0
    if calendar is None:
        return int((end - start).total_seconds() // 60)
    total = timedelta()
    day, last = start.astimezone(calendar.zone).date(), end.astimezone(calendar.zone).date()
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            overlap = min(window[1], end) - max(window[0], start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


# --------------------------------------------------------------------------- reading targets and the calendar

def load_calendar() -> Calendar:
    """The configured business calendar (the default hours when none are stored). Read once per
    deferred batch (the mail gateway's): its hundred tickets need it a hundred times."""
    cache = deferred_index(db.session, "sla")
    if cache is not None:
        if "calendar" not in cache:
            cache["calendar"] = _read_calendar()
        return cache["calendar"]
    return _read_calendar()


def _read_calendar() -> Calendar:
    rows = db.session.scalars(sa.select(BusinessDay)).all()
    hours = {r.weekday: (r.opens_minute, r.closes_minute) for r in rows} or dict(DEFAULT_HOURS)
    holidays = frozenset(db.session.scalars(sa.select(Holiday.day)))
    return Calendar(ZoneInfo(current_app.config["BUSINESS_TIMEZONE"]), hours, holidays)


def target_for(department_id, priority) -> Target:
    """The target of the department's own row, else the one for all departments, else the default."""
    cache = deferred_index(db.session, "sla")
    if cache is not None:
        key = ("target", department_id, priority)
        if key not in cache:
            cache[key] = _read_target(department_id, priority)
        return cache[key]
    return _read_target(department_id, priority)


def _read_target(department_id, priority) -> Target:
    rows = db.session.scalars(sa.select(SLATarget).where(
        SLATarget.priority == priority,
        sa.or_(SLATarget.department_id.is_(None), SLATarget.department_id == department_id)
        if department_id is not None else SLATarget.department_id.is_(None))).all()
    rows.sort(key=lambda r: r.department_id is None)  # the department's own first
    if rows:
        row = rows[0]
        return Target(row.first_response_minutes, row.resolution_minutes, row.business_hours)
    return DEFAULT_TARGETS.get(priority, DEFAULT_TARGETS[NORMAL])


def _target_and_calendar(ticket):
    department_id = ticket.department.id if ticket.department is not None else None
    target = target_for(department_id, ticket.priority)
    return target, (load_calendar() if target.business_hours else None)


# --------------------------------------------------------------------------- the clocks (called by tickets/service.py)

def _next_due(ticket):
    """The earlier of the pending first-response due time and the running resolution due time."""
    if ticket.status == CLOSED:
        return None
    dues = []
    if ticket.first_response_at is None and ticket.first_response_due_at is not None:
        dues.append(ticket.first_response_due_at)
    if ticket.sla_paused_at is None and ticket.resolution_due_at is not None:
        dues.append(ticket.resolution_due_at)
    return min(dues, default=None)


def _schedule(ticket, now, *, first_response=True):
    target, calendar = _target_and_calendar(ticket)
    if first_response:
        ticket.first_response_due_at = add_minutes(ticket.created_at or now, target.first_response_minutes, calendar)
        if ticket.first_response_at is None and ticket.first_response_due_at > now:
            ticket.first_response_breached_at = None  # a later target: a new breach is a new notice
    started = ticket.sla_started_at or ticket.created_at or now
    ticket.resolution_due_at = add_minutes(started, target.resolution_minutes + (ticket.sla_paused_minutes or 0),
                                           calendar)
    if ticket.resolution_due_at > now:
        ticket.resolution_breached_at = None
    ticket.sla_due_at = _next_due(ticket)


def on_opened(ticket, now):
    """Start both clocks of a new ticket."""
    ticket.sla_started_at, ticket.sla_paused_at, ticket.sla_paused_minutes = now, None, 0
    _schedule(ticket, now)


def on_changed(ticket, now):
    """Priority or department changed: due times follow the target that applies now."""
    _schedule(ticket, now)


def on_first_response(ticket):
    """The first agent reply (``first_response_at`` is set) meets the first-response clock."""
    ticket.sla_due_at = _next_due(ticket)


def on_status_changed(ticket, old, new, now):
    """Waiting on the customer pauses the resolution clock, leaving it resumes it with the paused time
    added, closing stops it and reopening starts it again from zero."""
    if new == CLOSED:
        ticket.sla_paused_at = None
    elif old == CLOSED:
        ticket.sla_started_at, ticket.sla_paused_minutes = now, 0
        _schedule(ticket, now, first_response=False)
        ticket.sla_paused_at = now if new == WAITING else None
    elif new == WAITING and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    elif new != WAITING and ticket.sla_paused_at is not None:
        _target, calendar = _target_and_calendar(ticket)
        paused = minutes_between(ticket.sla_paused_at, now, calendar)
        ticket.sla_paused_minutes = (ticket.sla_paused_minutes or 0) + paused
        if ticket.resolution_due_at is not None:
            ticket.resolution_due_at = add_minutes(ticket.resolution_due_at, paused, calendar)
        ticket.sla_paused_at = None
    ticket.sla_due_at = _next_due(ticket)


# --------------------------------------------------------------------------- what people see

@dataclass(frozen=True)
class DueState:
    """A ticket's next due time as the queue and the ticket page show it."""

    state: str  # BREACHED, AT_RISK, ON_TRACK or PAUSED
    due_at: datetime | None = None
    clock: str | None = None  # FIRST_RESPONSE or RESOLUTION
    remaining: timedelta | None = None  # negative once overdue


def at_risk_window() -> timedelta:
    return timedelta(minutes=current_app.config["SLA_AT_RISK_MINUTES"])


def due_state(ticket, now, window: timedelta) -> DueState | None:
    """None for a closed ticket or one without a running clock."""
    if ticket.status == CLOSED:
        return None
    due = ticket.sla_due_at
    if due is None:
        return DueState(PAUSED) if ticket.sla_paused_at is not None else None
    clock = FIRST_RESPONSE if (ticket.first_response_at is None and due == ticket.first_response_due_at) \
        else RESOLUTION
    remaining = due - now
    state = BREACHED if remaining <= timedelta() else AT_RISK if remaining <= window else ON_TRACK
    return DueState(state, due, clock, remaining)


# --------------------------------------------------------------------------- breaches

_CLOCK_COLUMNS = {
    FIRST_RESPONSE: (Ticket.first_response_due_at, Ticket.first_response_breached_at),
    RESOLUTION: (Ticket.resolution_due_at, Ticket.resolution_breached_at),
}


def _newly_breached(now):
    first = sa.and_(Ticket.first_response_at.is_(None), Ticket.first_response_due_at <= now,
                    Ticket.first_response_breached_at.is_(None))
    resolution = sa.and_(Ticket.sla_paused_at.is_(None), Ticket.resolution_due_at <= now,
                         Ticket.resolution_breached_at.is_(None))
    return db.session.execute(
        sa.select(Ticket.id, first, resolution).where(Ticket.status != CLOSED, sa.or_(first, resolution))
        .order_by(Ticket.id)
    ).all()


def _claim(ticket_id, clock, now) -> bool:
    """Stamp the breach unless another run did: only the run whose UPDATE changed the row notifies."""
    _due, stamp = _CLOCK_COLUMNS[clock]
    result = db.session.execute(
        sa.update(Ticket).where(Ticket.id == ticket_id, stamp.is_(None)).values({stamp: now})
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _breach_event(ticket, clock, due):
    event = {"type": "sla-breach", "clock": clock, "due": due.isoformat()}
    db.session.add(Message(ticket=ticket, kind=SYSTEM_EVENT, body_text=" ".join(f"{k}={v}" for k, v in event.items()),
                           body_html="", source="system", event=event))
    enqueue_after_commit_batched(REINDEX_TASK, ticket, queue="search")


def _agents_to_notify(ticket):
    """Active agents of the ticket's department; every active agent and admin when it has none."""
    if ticket.department is not None:
        return [u for u in ticket.department.agents if u.active and u.is_agent]
    return db.session.scalars(sa.select(User).where(User.role.in_((ROLE_AGENT, ROLE_ADMIN)), User.active.is_(True))
                              .order_by(User.id)).all()


def _notify_breach(ticket, clock, due):
    config = current_app.config
    department = ticket.department
    sender = (department and (department.reply_from_address or department.inbound_address)) \
        or config["MAIL_DEFAULT_FROM"]
    sender = formataddr((config["BRAND_NAME"], sender))
    for agent in _agents_to_notify(ticket):
        with force_locale(agent.locale or config["DEFAULT_LOCALE"]):
            context = {"ticket": ticket, "clock": str(CLOCKS[clock]), "due": due, "recipient_name": agent.full_name,
                       "brand": config["BRAND_NAME"], "url": f"{config['BASE_URL']}/agent/tickets/{ticket.number}"}
            text = render_template("tickets/mail/sla_breach.txt", **context)
            html = render_template("tickets/mail/sla_breach.html", **context)
            subject = _("%(tag)s SLA breached (%(clock)s): %(subject)s", tag=subject_tag(ticket.number),
                        clock=context["clock"], subject=ticket.subject)
        queue_email(sender=sender, recipient=agent.email, recipient_name=agent.full_name, subject=subject,
                    body_text=text, body_html=html, headers={"Auto-Submitted": "auto-generated"},
                    ticket_id=ticket.id, message_id=new_message_id(str(ticket.number)))


def flag_breaches(actor, now=None) -> int:
    """Stamp every newly breached clock of open tickets, record a system event on the ticket and mail
    the agents of its department (all agents without one), once per breach even when two runs overlap.
    The system and admins only. Returns the number of breaches flagged."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    now = now or utcnow()
    flagged = 0
    for ticket_id, first, resolution in _newly_breached(now):
        for clock, due_now in ((FIRST_RESPONSE, first), (RESOLUTION, resolution)):
            if not due_now or not _claim(ticket_id, clock, now):
                continue
            ticket = db.session.get(Ticket, ticket_id)
            db.session.refresh(ticket)
            due = getattr(ticket, _CLOCK_COLUMNS[clock][0].key)
            _breach_event(ticket, clock, due)
            _notify_breach(ticket, clock, due)
            audit.record(actor, "ticket", ticket_id, "sla-breached", {"clock": clock})
            flagged += 1
    commit_service_call(db.session)
    return flagged


# --------------------------------------------------------------------------- admins: targets, hours, holidays

def _require_admin(actor):
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()


def targets() -> list:
    """Every configured target, those for all departments first."""
    return db.session.scalars(
        sa.select(SLATarget).outerjoin(Department, SLATarget.department_id == Department.id)
        .order_by(SLATarget.department_id.is_not(None), Department.name,
                  sa.case(*((SLATarget.priority == p, n) for n, p in enumerate(PRIORITIES)), else_=9))
    ).all()


def _minutes(errors, name, value):
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = _l("Enter a whole number of minutes.")
        return None
    if not 1 <= minutes <= MAX_TARGET_MINUTES:
        errors[name] = _l("Enter between 1 and %(num)d minutes.", num=MAX_TARGET_MINUTES)
        return None
    return minutes


def save_target(actor, *, department, priority, first_response_minutes, resolution_minutes,
                business_hours=True) -> SLATarget:
    """Set the target for ``department`` (None: all departments) and ``priority``, replacing one that
    exists. Admins only. Applies to tickets opened (or changed in priority or department) afterwards."""
    _require_admin(actor)
    errors = {}
    if priority not in PRIORITIES:
        errors["priority"] = _l("Choose a valid priority.")
    found = None
    if department not in (None, ""):
        found = department if isinstance(department, Department) else (
            db.session.get(Department, parse_id(department)) if parse_id(department) is not None else None)
        if found is None:
            errors["department"] = _l("Choose a valid department.")
    first = _minutes(errors, "first_response_minutes", first_response_minutes)
    resolution = _minutes(errors, "resolution_minutes", resolution_minutes)
    if first and resolution and resolution < first:
        errors["resolution_minutes"] = _l("The resolution target cannot be shorter than the first response target.")
    if errors:
        raise ValidationFailed(errors)
    department_id = found.id if found is not None else None
    row = db.session.scalar(sa.select(SLATarget).where(
        SLATarget.priority == priority,
        SLATarget.department_id == department_id if department_id is not None else SLATarget.department_id.is_(None)))
    if row is None:
        row = SLATarget(department_id=department_id, priority=priority)
        db.session.add(row)
    row.first_response_minutes, row.resolution_minutes = first, resolution
    row.business_hours = bool(business_hours)
    db.session.flush()
    audit.record(actor, "sla_target", row.id, "saved", {
        "department": department_id, "priority": priority, "first_response_minutes": first,
        "resolution_minutes": resolution, "business_hours": row.business_hours})
    commit_service_call(db.session)
    return row


def delete_target(actor, target_id) -> None:
    """Remove a target (the one for all departments, or the default, applies again). Admins only."""
    _require_admin(actor)
    row = db.session.get(SLATarget, parse_id(target_id)) if parse_id(target_id) is not None else None
    if row is None:
        raise ValidationFailed({"target": _l("That target does not exist any more.")})
    db.session.delete(row)
    audit.record(actor, "sla_target", row.id, "deleted", {"department": row.department_id, "priority": row.priority})
    commit_service_call(db.session)


def business_hours() -> dict:
    """weekday → (opening, closing) minutes; the default hours when none are stored."""
    rows = db.session.scalars(sa.select(BusinessDay)).all()
    return {r.weekday: (r.opens_minute, r.closes_minute) for r in rows} or dict(DEFAULT_HOURS)


_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_clock_time(value):
    """Minutes after midnight of "HH:MM" (24:00 allowed), or None when it is not such a time."""
    match = _CLOCK_TIME.match((value or "").strip())
    if not match:
        return None
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    return minutes if minutes <= MINUTES_PER_DAY else None


def save_business_hours(actor, hours: Mapping) -> dict:
    """Replace the weekly business hours. ``hours`` maps each weekday (0 Monday … 6 Sunday) to None
    (closed) or ("HH:MM", "HH:MM"); closing must come after opening (24:00 is the next midnight) and
    at least one day must be open. Admins only."""
    _require_admin(actor)
    errors, parsed = {}, {}
    for weekday in WEEKDAYS:
        value = hours.get(weekday)
        if not value:
            continue
        opens, closes = parse_clock_time(value[0]), parse_clock_time(value[1])
        if opens is None:
            errors[f"opens_{weekday}"] = _l("Enter a time as HH:MM.")
        if closes is None:
            errors[f"closes_{weekday}"] = _l("Enter a time as HH:MM.")
        if opens is not None and closes is not None:
            if closes <= opens:
                errors[f"closes_{weekday}"] = _l("Closing must come after opening.")
            else:
                parsed[weekday] = (opens, closes)
    if not parsed and not errors:
        errors["hours"] = _l("Open at least one day of the week.")
    if errors:
        raise ValidationFailed(errors)
    db.session.execute(sa.delete(BusinessDay))
    for weekday, (opens, closes) in parsed.items():
        db.session.add(BusinessDay(weekday=weekday, opens_minute=opens, closes_minute=closes))
    audit.record(actor, "sla_business_hours", None, "saved", {str(d): list(v) for d, v in parsed.items()})
    commit_service_call(db.session)
    return parsed


def holidays() -> list:
    return db.session.scalars(sa.select(Holiday).order_by(Holiday.day)).all()


def add_holiday(actor, *, day, name="") -> Holiday:
    """Add a holiday (a date, or "YYYY-MM-DD") on which business-time clocks stand still. Admins only."""
    _require_admin(actor)
    errors = {}
    if not isinstance(day, date):
        try:
            day = date.fromisoformat(str(day or "").strip())
        except ValueError:
            errors["day"] = _l("Enter a date as YYYY-MM-DD.")
            day = None
    name = " ".join((name or "").split())
    if len(name) > 100:
        errors["name"] = _l("The name may be at most %(num)d characters.", num=100)
    if day is not None and db.session.scalar(sa.select(Holiday.id).where(Holiday.day == day)):
        errors["day"] = _l("That date is already a holiday.")
    if errors:
        raise ValidationFailed(errors)
    holiday = Holiday(day=day, name=name)
    db.session.add(holiday)
    db.session.flush()
    audit.record(actor, "sla_holiday", holiday.id, "added", {"day": day.isoformat(), "name": name})
    commit_service_call(db.session)
    return holiday


def remove_holiday(actor, holiday_id) -> None:
    """Remove a holiday. Admins only."""
    _require_admin(actor)
    holiday = db.session.get(Holiday, parse_id(holiday_id)) if parse_id(holiday_id) is not None else None
    if holiday is None:
        raise ValidationFailed({"holiday": _l("That holiday does not exist any more.")})
    db.session.delete(holiday)
    audit.record(actor, "sla_holiday", holiday.id, "removed", {"day": holiday.day.isoformat()})
    commit_service_call(db.session)
