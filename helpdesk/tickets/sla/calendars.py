"""Which business calendar a department's clocks count in: its own calendar, else the desk's default, else the
built-in Monday–Friday 09:00–17:00, in the calendar's time zone (the desk's BUSINESS_TIMEZONE when it names
none). Every calendar, window, department choice and holiday is read in a few queries and kept by the process
until an admin changes one of them (helpdesk.stamps), so tickets opened one after another, a bulk change or a
mail batch touching many tickets ask the database once, not once per ticket."""
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from helpdesk.extensions import db
from helpdesk.stamps import cached, watch
from helpdesk.tickets.sla.business_calendar import DEFAULT_WINDOWS, Calendar
from helpdesk.tickets.sla_models import CalendarWindow, DepartmentCalendar, Holiday, SLACalendar


@dataclass(frozen=True)
class _Loaded:
    default: Calendar
    by_id: dict  # calendar id → Calendar
    departments: dict  # department id → calendar id


def _zone(name):
    return ZoneInfo(name or current_app.config["BUSINESS_TIMEZONE"])


def _read() -> _Loaded:
    rows = db.session.execute(sa.select(SLACalendar.id, SLACalendar.around_the_clock, SLACalendar.time_zone,
                                        SLACalendar.is_default)).all()
    windows = {}
    for calendar_id, weekday, opens, closes in db.session.execute(sa.select(
            CalendarWindow.calendar_id, CalendarWindow.weekday, CalendarWindow.opens_minute,
            CalendarWindow.closes_minute)):
        windows.setdefault(calendar_id, []).append((weekday, opens, closes))
    holidays = frozenset(db.session.scalars(sa.select(Holiday.day)))
    by_id, default = {}, None
    for calendar_id, always, zone, is_default in rows:
        by_id[calendar_id] = Calendar(_zone(zone), tuple(windows.get(calendar_id, ())),
                                      frozenset() if always else holidays, around_the_clock=always)
        if is_default:
            default = by_id[calendar_id]
    departments = dict(db.session.execute(sa.select(DepartmentCalendar.department_id,
                                                    DepartmentCalendar.calendar_id)).all())
    return _Loaded(default or Calendar(_zone(None), DEFAULT_WINDOWS, holidays), by_id, departments)


watch("sla-calendars", SLACalendar, CalendarWindow, Holiday, DepartmentCalendar)


def _loaded() -> _Loaded:
    return cached("sla-calendars", _read)


def forget_calendars():
    """Nothing to do: any write to calendars, windows, holidays or a department's choice moves the stamp, and
    the next read in this transaction and every later one reads them again. Kept for callers that say so."""


def calendar_for(department_id=None) -> Calendar:
    """The calendar of department ``department_id`` (None: a ticket without department): its own, else the
    desk's default."""
    loaded = _loaded()
    return loaded.by_id.get(loaded.departments.get(department_id)) or loaded.default


def calendar_by_id(calendar_id) -> Calendar:
    """Calendar ``calendar_id`` (the chat's hours name one), else the desk's default."""
    loaded = _loaded()
    return loaded.by_id.get(calendar_id) or loaded.default
