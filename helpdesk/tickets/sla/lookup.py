"""Which target and which calendar apply to a ticket: the department's own target for its priority, else the
one for all departments, else the default; the department's calendar, else the desk's (see calendars).
Every target is read in one query and kept by the process until an admin changes one (helpdesk.stamps): each
new ticket needs them, and a mail batch's hundred tickets need them a hundred times."""
from dataclasses import dataclass

import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.stamps import cached, watch
from helpdesk.tickets.models import HIGH, LOW, NORMAL, URGENT
from helpdesk.tickets.sla.business_calendar import Calendar
from helpdesk.tickets.sla.calendars import calendar_for
from helpdesk.tickets.sla_models import SLATarget


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


def load_calendar(department_id=None) -> Calendar:
    """The business calendar of the department (the desk's default when it has none of its own)."""
    return calendar_for(department_id)


watch("sla-targets", SLATarget)


def target_for(department_id, priority) -> Target:
    """The target of the department's own row, else the one for all departments, else the default."""
    targets = cached("sla-targets", _read_targets)
    return (targets.get((department_id, priority)) or targets.get((None, priority))
            or DEFAULT_TARGETS.get(priority, DEFAULT_TARGETS[NORMAL]))


def _read_targets() -> dict:
    """(department id or None, priority) → Target, for every target row."""
    return {(row.department_id, row.priority): Target(row.first_response_minutes, row.resolution_minutes,
                                                      row.business_hours)
            for row in db.session.execute(sa.select(
                SLATarget.department_id, SLATarget.priority, SLATarget.first_response_minutes,
                SLATarget.resolution_minutes, SLATarget.business_hours))}


def target_and_calendar(ticket):
    """The ticket's target, and the business calendar when that target counts business time (else None)."""
    department_id = ticket.department.id if ticket.department is not None else None
    target = target_for(department_id, ticket.priority)
    return target, (load_calendar(department_id) if target.business_hours else None)
