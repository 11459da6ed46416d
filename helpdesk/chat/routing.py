"""Who can take a chat and when: agents' availability (an online agent not seen for CHAT_AGENT_TIMEOUT_SECONDS
counts as away, so a closed laptop stops drawing chats), each agent's limit of open chats, the chat hours (an SLA
calendar named by CHAT_CALENDAR) and the order of the waiting list."""
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.chat import hub
from helpdesk.chat.access import reachable_by
from helpdesk.chat.models import ACTIVE, AVAILABILITIES, AWAY, OFFLINE, ONLINE, WAITING, Chat, ChatAgent
from helpdesk.db import commit_service_call, utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets.models import department_agents
from helpdesk.tickets.sla.calendars import calendar_by_id
from helpdesk.tickets.sla_models import SLACalendar

log = logging.getLogger(__name__)


def require_agent(actor):
    if not getattr(actor, "is_agent", False):
        raise NotAllowed()


# --------------------------------------------------------------------------- availability

def _row(agent, create=False) -> ChatAgent | None:
    row = db.session.get(ChatAgent, agent.id)
    if row is None and create:
        row = ChatAgent(user_id=agent.id, availability=OFFLINE)
        db.session.add(row)
    return row


def _seen_since(now=None):
    return (now or utcnow()) - timedelta(seconds=current_app.config["CHAT_AGENT_TIMEOUT_SECONDS"])


def set_availability(agent, availability) -> str:
    """Set the agent's own availability (online, away, offline); going online counts as being seen."""
    require_agent(agent)
    if availability not in AVAILABILITIES:
        raise ValidationFailed({"availability": _l("Choose online, away or offline.")})
    row = _row(agent, create=True)
    old = row.availability
    row.availability = availability
    if availability == ONLINE:
        row.seen_at = utcnow()
    if old != availability:
        audit.record(agent, "user", agent, "chat-availability", {"availability": [old, availability]})
    hub.publish_after_commit(hub.DESK, {"type": "desk"})
    commit_service_call(db.session)
    return availability


def ping(agent) -> None:
    """The agent's open inbox says it is still there (keeps an online agent from counting as away)."""
    require_agent(agent)
    row = _row(agent, create=True)
    row.seen_at = utcnow()
    commit_service_call(db.session)


def availability_of(agent) -> str:
    """ONLINE, AWAY or OFFLINE as others see it: online but not seen lately reads as away."""
    row = _row(agent)
    if row is None:
        return OFFLINE
    if row.availability == ONLINE and (row.seen_at is None or row.seen_at < _seen_since()):
        return AWAY
    return row.availability


def agents_online(department=None) -> int:
    """Agents online and seen within the timeout; of ``department`` when given."""
    query = sa.select(sa.func.count()).select_from(ChatAgent).where(
        ChatAgent.availability == ONLINE, ChatAgent.seen_at >= _seen_since())
    if department is not None:
        query = query.join(department_agents, department_agents.c.user_id == ChatAgent.user_id).where(
            department_agents.c.department_id == getattr(department, "id", department))
    return db.session.scalar(query) or 0


# --------------------------------------------------------------------------- limits

def limit_of(agent) -> int:
    row = _row(agent)
    if row is not None and row.max_chats is not None:
        return row.max_chats
    return int(current_app.config["CHAT_MAX_PER_AGENT"])


def open_chats_of(agent) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Chat).where(
        Chat.status == ACTIVE, Chat.agent_id == agent.id)) or 0


def has_room(agent) -> bool:
    return open_chats_of(agent) < limit_of(agent)


# --------------------------------------------------------------------------- chat hours

def chat_calendar():
    """The SLA calendar whose hours are the chat's (None: around the clock). A name no calendar has is a
    mistake in the settings: the desk's default calendar then applies, rather than promising answers at night."""
    name = (current_app.config.get("CHAT_CALENDAR") or "").strip()
    if not name:
        return None
    calendar_id = db.session.scalar(sa.select(SLACalendar.id).where(SLACalendar.name == name))
    if calendar_id is None:
        log.warning("CHAT_CALENDAR names no SLA calendar (%r): using the desk's default calendar", name)
    # The SLA package keeps every calendar read until one changes (tickets/sla/calendars.py).
    return calendar_by_id(calendar_id)


def open_at(calendar, now) -> bool:
    """Whether instant ``now`` falls within ``calendar``'s hours (None: around the clock)."""
    if calendar is None or calendar.around_the_clock:
        return True
    local_day = now.astimezone(calendar.zone).date()
    # Each local day's spans include the part of yesterday's night window after midnight (business_calendar).
    return any(start <= now < end for start, end in calendar.spans(local_day))


def is_open(now=None) -> bool:
    """Whether ``now`` (default: this moment) falls within the chat hours."""
    return open_at(chat_calendar(), now or utcnow())


def desk_status(department=None) -> dict:
    """What the visitor's panel needs to know before a chat: open now, agents online, when to offer a ticket."""
    return {"open": is_open(), "agents_online": agents_online(department),
            "offer_ticket_after": int(current_app.config["CHAT_OFFER_TICKET_AFTER_SECONDS"])}


# --------------------------------------------------------------------------- the agent's lists

def _department_ids(agent) -> list[int]:
    return list(db.session.scalars(sa.select(department_agents.c.department_id).where(
        department_agents.c.user_id == agent.id)))


def waiting_chats(agent) -> list[Chat]:
    """Chats waiting for an agent that the agent reaches (their departments' and those sent to no department),
    oldest first; those of the agent's departments before the others."""
    require_agent(agent)
    query = sa.select(Chat).where(Chat.status == WAITING, reachable_by(agent))
    ids = _department_ids(agent)
    order = [Chat.created_at, Chat.id]
    if ids:
        order.insert(0, sa.case((Chat.department_id.in_(ids), 0), else_=1))
    return list(db.session.scalars(query.order_by(*order)))


def my_chats(agent) -> list[Chat]:
    """The agent's open chats, the oldest accepted first."""
    require_agent(agent)
    return list(db.session.scalars(sa.select(Chat).where(Chat.status == ACTIVE, Chat.agent_id == agent.id)
                                   .order_by(Chat.accepted_at, Chat.id)))
