"""Figures for the staff dashboard, over the tickets the actor may see: open tickets by department and
priority, the median first-response time and the number of SLA breaches over a recent period."""
import statistics
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import access
from helpdesk.tickets.models import CLOSED, PRIORITIES, SYSTEM_EVENT, Department, Message, Ticket


@dataclass(frozen=True)
class DepartmentRow:
    """Open tickets of one department (None: no department), per priority code."""

    department_id: int | None
    name: str
    by_priority: dict

    @property
    def total(self):
        return sum(self.by_priority.values())


@dataclass(frozen=True)
class PeriodFigures:
    days: int
    median_first_response: timedelta | None  # None: no ticket of the period was answered yet
    answered: int
    breaches: int


def open_by_department_and_priority(actor) -> list[DepartmentRow]:
    """One row per department with open tickets the actor sees (by name; "no department" last)."""
    rows = db.session.execute(
        access.visible_tickets(actor).where(Ticket.status != CLOSED)
        .with_only_columns(Ticket.department_id, Ticket.priority, sa.func.count())
        .group_by(Ticket.department_id, Ticket.priority)
    ).all()
    names = dict(db.session.execute(sa.select(Department.id, Department.name)).all())
    table = {}
    for department_id, priority, n in rows:
        table.setdefault(department_id, {p: 0 for p in PRIORITIES})[priority] = n
    result = [DepartmentRow(d, names.get(d, ""), counts) for d, counts in table.items()]
    result.sort(key=lambda r: (r.department_id is None, r.name.lower()))
    return result


def period_figures(actor, days, now=None) -> PeriodFigures:
    """For tickets opened in the last ``days`` days: the median time to the first agent reply (of those
    answered) and the number of SLA breaches flagged in those days on the tickets the actor sees."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    visible = access.visible_tickets(actor).with_only_columns(Ticket.id)
    answered = db.session.execute(
        sa.select(Ticket.created_at, Ticket.first_response_at)
        .where(Ticket.id.in_(visible), Ticket.created_at >= since, Ticket.first_response_at.is_not(None))
    ).all()
    waits = [(responded - created).total_seconds() for created, responded in answered]
    median = timedelta(seconds=statistics.median(waits)) if waits else None
    breaches = db.session.scalar(
        sa.select(sa.func.count()).select_from(Message)
        .where(Message.ticket_id.in_(visible), Message.kind == SYSTEM_EVENT, Message.created_at >= since,
               Message.event["type"].as_string() == "sla-breach")
    )
    return PeriodFigures(days, median, len(waits), breaches or 0)
