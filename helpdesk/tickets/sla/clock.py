"""The SLA clocks of a ticket and how they react to its changes: both start when it opens, a new priority or
department moves their due times to the target that applies now, the first agent reply meets the
first-response clock, waiting on the customer pauses the resolution clock (its paused time is added when it
resumes), closing stops it and reopening starts it again from zero. Also what the queue and the ticket page
say about the next due time."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets.models import CLOSED, WAITING
from helpdesk.tickets.sla.business_calendar import add_minutes, minutes_between
from helpdesk.tickets.sla.lookup import target_and_calendar

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
CLOCKS = {FIRST_RESPONSE: _l("first response"), RESOLUTION: _l("resolution")}
# What the queue and the ticket page say about a ticket's next due time.
BREACHED, AT_RISK, ON_TRACK, PAUSED = "breached", "at_risk", "on_track", "paused"


# --------------------------------------------------------------------------- the clocks (ticket operations call these)

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
    target, calendar = target_and_calendar(ticket)
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
        _target, calendar = target_and_calendar(ticket)
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
