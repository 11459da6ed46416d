"""The admins' SLA settings: targets per department and priority, and the holidays (calendars: calendar_admin)."""
from datetime import date

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.db import commit_service_call, parse_id
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets.models import PRIORITIES, Department
from helpdesk.tickets.sla.business_calendar import MINUTES_PER_DAY
from helpdesk.tickets.sla.calendars import forget_calendars
from helpdesk.tickets.sla_models import Holiday, SLATarget

MAX_TARGET_MINUTES = 366 * MINUTES_PER_DAY


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


def holidays() -> list:
    return db.session.scalars(sa.select(Holiday).order_by(Holiday.day)).all()


def add_holiday(actor, *, day, name="") -> Holiday:
    """Add a holiday (a date, or "YYYY-MM-DD") on which the clocks of business-hours calendars stand still
    (around-the-clock calendars ignore holidays). Admins only."""
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
    forget_calendars()
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
    forget_calendars()
    commit_service_call(db.session)
