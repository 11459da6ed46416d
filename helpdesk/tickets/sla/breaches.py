"""Breach detection: the periodic job stamps each newly breached SLA clock of an open ticket once (even when two
runs overlap), records it in the ticket's thread and mails the agents who should act, each in their language."""

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.accounts.models import ROLE_ADMIN, ROLE_AGENT, User
from helpdesk.db import commit_service_call, utcnow
from helpdesk.errors import NotAllowed
from helpdesk.extensions import db
from helpdesk.tickets import notifications
from helpdesk.tickets.models import CLOSED, SYSTEM_EVENT, Message, Ticket
from helpdesk.tickets.sla.clock import CLOCKS, FIRST_RESPONSE, RESOLUTION
from helpdesk.tickets.watchers import TICKET_CHANGES

# Same task path as tickets/changes.py (which imports this package, so it cannot be imported from there):
# the event line changes what the search index shows.
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
    TICKET_CHANGES.changed(ticket)


def _agents_to_notify(ticket):
    """Active agents of the ticket's department; every active agent and admin when it has none."""
    if ticket.department is not None:
        return [u for u in ticket.department.agents if u.active and u.is_agent]
    return db.session.scalars(sa.select(User).where(User.role.in_((ROLE_AGENT, ROLE_ADMIN)), User.active.is_(True))
                              .order_by(User.id)).all()


def _notify_breach(ticket, clock, due):
    notifications.sla_breached(ticket, CLOCKS[clock], due, _agents_to_notify(ticket))


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
