"""The admins' business calendars: the desk's default calendar and others that departments may use, each with
weekly windows (several a day, a window may run past midnight into the next day) or around the clock (24/7),
in its own time zone. Changes apply to due times computed afterwards, as target changes do."""
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from helpdesk import audit
from helpdesk.db import commit_service_call, parse_id
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets.models import Department
from helpdesk.tickets.sla.business_calendar import DEFAULT_WINDOWS, MINUTES_PER_DAY
from helpdesk.tickets.sla.calendars import forget_calendars
from helpdesk.tickets.sla_models import CalendarWindow, DepartmentCalendar, SLACalendar

WEEKDAYS = {0: _l("Monday"), 1: _l("Tuesday"), 2: _l("Wednesday"), 3: _l("Thursday"), 4: _l("Friday"),
            5: _l("Saturday"), 6: _l("Sunday")}
DEFAULT = "default"  # stands for the desk's default calendar where a calendar id is expected
_WEEK = 7 * MINUTES_PER_DAY
_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def _require_admin(actor):
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()


def parse_clock_time(value):
    """Minutes after midnight of "HH:MM" (24:00 allowed), or None when it is not such a time."""
    match = _CLOCK_TIME.match((value or "").strip())
    if not match:
        return None
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    return minutes if minutes <= MINUTES_PER_DAY else None


def clock_time(minutes) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def runs_overnight(window) -> bool:
    return window.closes_minute <= window.opens_minute


def describe_window(window) -> str:
    """ "Monday 22:00–06:00 (until Tuesday)": the window as the editor and its messages name it."""
    times = f"{clock_time(window.opens_minute)}–{clock_time(window.closes_minute)}"
    if runs_overnight(window):
        return _("%(day)s %(times)s (until %(next_day)s)", day=WEEKDAYS[window.weekday], times=times,
                 next_day=WEEKDAYS[(window.weekday + 1) % 7])
    return _("%(day)s %(times)s", day=WEEKDAYS[window.weekday], times=times)


# --------------------------------------------------------------------------- reading

def _built_in_default():
    """The default calendar as it applies while none is stored (never added to the session)."""
    calendar = SLACalendar(name=str(_l("Business hours")), around_the_clock=False, time_zone=None, is_default=True)
    calendar.windows = [CalendarWindow(weekday=d, opens_minute=o, closes_minute=c) for d, o, c in DEFAULT_WINDOWS]
    return calendar


def calendars() -> list:
    """Every calendar, the desk's default first (the built-in one, unsaved, while none is stored)."""
    rows = db.session.scalars(sa.select(SLACalendar).options(selectinload(SLACalendar.windows))
                              .order_by(SLACalendar.is_default.desc(), SLACalendar.name)).all()
    if not rows or not rows[0].is_default:
        rows.insert(0, _built_in_default())
    return rows


def get_calendar(calendar_id) -> SLACalendar:
    """The calendar with ``calendar_id`` (DEFAULT: the desk's default, built in while none is stored)."""
    if calendar_id == DEFAULT:
        return _default_row() or _built_in_default()
    found = db.session.get(SLACalendar, parse_id(calendar_id)) if parse_id(calendar_id) is not None else None
    if found is None:
        raise NotFound()
    return found


def department_calendars() -> dict:
    """department id → calendar id, for departments with their own calendar."""
    return dict(db.session.execute(sa.select(DepartmentCalendar.department_id, DepartmentCalendar.calendar_id)).all())


def _default_row():
    return db.session.scalar(sa.select(SLACalendar).where(SLACalendar.is_default.is_(True)))


def _for_change(calendar_id) -> SLACalendar:
    """The stored calendar to change; the default is stored first when it is still the built-in one."""
    if calendar_id != DEFAULT:
        return get_calendar(calendar_id)
    row = _default_row()
    if row is None:
        row = _built_in_default()
        name = row.name
        if db.session.scalar(sa.select(SLACalendar.id).where(SLACalendar.name == name)):
            row.name = f"{name} ({_('default')})"
        db.session.add(row)
        db.session.flush()
    return row


# --------------------------------------------------------------------------- the calendar itself

def _check_settings(errors, name, time_zone, own_id=None):
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = _l("Enter a name.")
    elif len(name) > 100:
        errors["name"] = _l("The name may be at most %(num)d characters.", num=100)
    elif db.session.scalar(sa.select(SLACalendar.id).where(SLACalendar.name == name, SLACalendar.id != own_id)):
        errors["name"] = _l("Another calendar has that name.")
    time_zone = (time_zone or "").strip() or None
    if time_zone is not None:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = _l("Choose a valid time zone.")
    return name, time_zone


def create_calendar(actor, *, name, around_the_clock=False, time_zone=None) -> SLACalendar:
    """A new calendar; one counting business hours starts with a copy of the default calendar's windows (edit
    them afterwards). Admins only."""
    _require_admin(actor)
    errors = {}
    name, time_zone = _check_settings(errors, name, time_zone)
    if errors:
        raise ValidationFailed(errors)
    default = _default_row() or _built_in_default()
    calendar = SLACalendar(name=name, around_the_clock=bool(around_the_clock), time_zone=time_zone,
                           is_default=False)
    calendar.windows = [CalendarWindow(weekday=w.weekday, opens_minute=w.opens_minute, closes_minute=w.closes_minute)
                        for w in default.windows]
    db.session.add(calendar)
    db.session.flush()
    audit.record(actor, "sla_calendar", calendar.id, "created", {
        "name": name, "around_the_clock": calendar.around_the_clock, "time_zone": time_zone})
    forget_calendars()
    commit_service_call(db.session)
    return calendar


def update_calendar(actor, calendar_id, *, name, around_the_clock, time_zone) -> SLACalendar:
    """Rename a calendar, change its time zone, or make it count around the clock (24/7) or in its windows.
    Admins only."""
    _require_admin(actor)
    calendar = _for_change(calendar_id)
    errors = {}
    name, time_zone = _check_settings(errors, name, time_zone, calendar.id)
    if not around_the_clock and not calendar.windows:
        errors["around_the_clock"] = _l("Add a window first: a calendar of business hours needs at least one.")
    if errors:
        raise ValidationFailed(errors)
    calendar.name, calendar.around_the_clock, calendar.time_zone = name, bool(around_the_clock), time_zone
    audit.record(actor, "sla_calendar", calendar.id, "updated", {
        "name": name, "around_the_clock": calendar.around_the_clock, "time_zone": time_zone})
    forget_calendars()
    commit_service_call(db.session)
    return calendar


def delete_calendar(actor, calendar_id) -> None:
    """Remove a calendar other than the default; its departments use the default again. Admins only."""
    _require_admin(actor)
    calendar = get_calendar(calendar_id)
    if calendar.is_default:
        raise ValidationFailed({"calendar": _l("The desk's default calendar cannot be removed.")})
    db.session.execute(sa.delete(DepartmentCalendar).where(DepartmentCalendar.calendar_id == calendar.id))
    db.session.delete(calendar)
    audit.record(actor, "sla_calendar", calendar.id, "deleted", {"name": calendar.name})
    forget_calendars()
    commit_service_call(db.session)


# --------------------------------------------------------------------------- windows

def _week_pieces(weekday, opens, closes):
    """The window as [start, end) minutes of the week from Monday 00:00, split where it runs past Sunday."""
    start = weekday * MINUTES_PER_DAY + opens
    length = closes - opens if closes > opens else closes + MINUTES_PER_DAY - opens
    end = start + length
    return [(start, end)] if end <= _WEEK else [(start, _WEEK), (0, end - _WEEK)]


def overlapping_window(windows, weekday, opens, closes):
    """The first of ``windows`` that shares time with the window (weekday, opens, closes); None if none does.
    Windows that only touch (one closes when the other opens) do not overlap."""
    mine = _week_pieces(weekday, opens, closes)
    for window in windows:
        theirs = _week_pieces(window.weekday, window.opens_minute, window.closes_minute)
        if any(a < d and c < b for a, b in mine for c, d in theirs):
            return window
    return None


def window_key(window) -> str:
    """What names a window in forms: its day and times, which no other window of its calendar shares (windows
    never overlap), and which the default calendar's windows have before it is stored."""
    return f"{window.weekday}-{window.opens_minute}-{window.closes_minute}"


def _weekday(value):
    value = str(value if value is not None else "").strip()
    return int(value) if value in {str(d) for d in WEEKDAYS} else None


def add_window(actor, calendar_id, *, weekday, opens, closes) -> CalendarWindow:
    """Add a window to a calendar: ``weekday`` 0 (Monday) to 6, ``opens`` and ``closes`` as "HH:MM"; a closing
    time at or before the opening runs into the next day (24:00 closes at midnight, 00:00 is read as 24:00).
    Refused when it overlaps another window of the calendar. Admins only."""
    _require_admin(actor)
    errors = {}
    day = _weekday(weekday)
    if day is None:
        errors["weekday"] = _l("Choose a day of the week.")
    start, end = parse_clock_time(opens), parse_clock_time(closes)
    if start is None:
        errors["opens"] = _l("Enter a time as HH:MM.")
    elif start >= MINUTES_PER_DAY:
        errors["opens"] = _l("A window opens at 23:59 at the latest.")
    if end is None:
        errors["closes"] = _l("Enter a time as HH:MM.")
    elif end == 0:
        end = MINUTES_PER_DAY
    if not errors and start == end:
        errors["closes"] = _l("A window cannot open and close at the same time; for a whole day enter 00:00–24:00.")
    if not errors and (clash := overlapping_window(get_calendar(calendar_id).windows, day, start, end)) is not None:
        errors["opens"] = _l("This window overlaps %(window)s. Change or remove that one first.",
                             window=describe_window(clash))
    if errors:
        raise ValidationFailed(errors)
    calendar = _for_change(calendar_id)
    window = CalendarWindow(weekday=day, opens_minute=start, closes_minute=end)
    calendar.windows.append(window)
    db.session.flush()
    audit.record(actor, "sla_calendar", calendar.id, "window-added", {
        "weekday": day, "opens": clock_time(start), "closes": clock_time(end)})
    forget_calendars()
    commit_service_call(db.session)
    return window


def remove_window(actor, calendar_id, key) -> None:
    """Remove the window named ``key`` (see ``window_key``); a calendar of business hours keeps at least one.
    Admins only."""
    _require_admin(actor)
    calendar = get_calendar(calendar_id)
    window = next((w for w in calendar.windows if window_key(w) == key), None)
    if window is None:
        raise ValidationFailed({"window": _l("That window does not exist any more.")})
    if len(calendar.windows) == 1 and not calendar.around_the_clock:
        raise ValidationFailed({"window": _l(
            "A calendar of business hours needs at least one window. Add another first, or make it count "
            "around the clock (24/7).")})
    calendar = _for_change(calendar_id)
    window = next(w for w in calendar.windows if window_key(w) == key)
    calendar.windows.remove(window)
    audit.record(actor, "sla_calendar", calendar.id, "window-removed", {
        "weekday": window.weekday, "opens": clock_time(window.opens_minute),
        "closes": clock_time(window.closes_minute)})
    forget_calendars()
    commit_service_call(db.session)


# --------------------------------------------------------------------------- departments

def assign_calendars(actor, choices) -> dict:
    """Set which calendar each department's clocks count in: ``choices`` maps department ids to a calendar id,
    or to None (or DEFAULT) for the desk's default. Departments not named keep theirs. Admins only."""
    _require_admin(actor)
    departments = {d.id: d for d in db.session.scalars(sa.select(Department))}
    known = set(db.session.scalars(sa.select(SLACalendar.id).where(SLACalendar.is_default.is_(False))))
    errors, wanted = {}, {}
    for department_id, calendar_id in choices.items():
        department_id = parse_id(department_id)
        if department_id not in departments:
            continue  # removed meanwhile: nothing to set
        if calendar_id in (None, "", DEFAULT):
            wanted[department_id] = None
        elif (parsed := parse_id(calendar_id)) in known:
            wanted[department_id] = parsed
        else:
            errors[f"department_{department_id}"] = _l("Choose a valid calendar.")
    if errors:
        raise ValidationFailed(errors)
    current = department_calendars()
    changed = {d: c for d, c in wanted.items() if current.get(d) != c}
    for department_id, calendar_id in changed.items():
        row = db.session.get(DepartmentCalendar, department_id)
        if calendar_id is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(DepartmentCalendar(department_id=department_id, calendar_id=calendar_id))
        else:
            row.calendar_id = calendar_id
    if changed:
        audit.record(actor, "sla_department_calendars", None, "saved", {str(d): c for d, c in changed.items()})
    forget_calendars()
    commit_service_call(db.session)
    return changed
