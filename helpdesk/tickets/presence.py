"""Who else is looking: agents who have a ticket open (or are writing on it) record a heartbeat, and the
workspace tells the others. Also the check that a reply is not sent blind to a message that arrived since."""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import relationship

from helpdesk.accounts.models import User
from helpdesk.db import UTCDateTime, begin_write, commit_service_call, parse_id, utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access
from helpdesk.tickets.models import AGENT_REPLY, CUSTOMER_MESSAGE, Message, Ticket

VIEWING, REPLYING = "viewing", "replying"
ACTIVITIES = (VIEWING, REPLYING)


class TicketPresence(db.Model):
    """An agent's latest heartbeat on a ticket (one row per agent and ticket, overwritten)."""

    __tablename__ = "ticket_presence"

    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    agent_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    activity = sa.Column(sa.String(10), nullable=False, default=VIEWING)
    seen_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    ticket = relationship(Ticket)
    agent = relationship(User)


def _start_write():
    """Heartbeats are written while pages are being read. On SQLite a read transaction that wrote nothing yet is
    ended first and the write waits for its turn (BEGIN IMMEDIATE): otherwise another agent's heartbeat committed
    in between would make this write fail on its stale snapshot."""
    session = db.session
    if session.get_bind().dialect.name == "sqlite" and not (session.new or session.dirty or session.deleted):
        session.commit()
        begin_write(session)


def record_presence(actor, ticket, activity=VIEWING) -> None:
    """Note that ``actor`` (an agent who may see the ticket) is viewing or replying to ``ticket`` now."""
    access.require_agent(actor)
    access.require(actor, ticket, "note")
    if activity not in ACTIVITIES:
        raise ValidationFailed({"activity": _l("Unknown activity.")})
    key = {"ticket_id": ticket.id, "agent_id": actor.id}
    _start_write()
    now = utcnow()
    updated = db.session.execute(
        sa.update(TicketPresence).where(TicketPresence.ticket_id == ticket.id, TicketPresence.agent_id == actor.id)
        .values(activity=activity, seen_at=now).execution_options(synchronize_session=False))
    if not updated.rowcount:
        try:
            with db.session.begin_nested():
                db.session.execute(sa.insert(TicketPresence).values(**key, activity=activity, seen_at=now))
        except sa.exc.IntegrityError:
            # The same agent's other tab inserted first: its row is as good as ours.
            pass
    commit_service_call(db.session)


def others_present(actor, ticket):
    """[(agent, activity)] of the other agents whose heartbeat on ``ticket`` is recent, replying ones first."""
    access.require(actor, ticket, "note")
    since = utcnow() - timedelta(seconds=int(current_app.config["PRESENCE_TIMEOUT_SECONDS"]))
    rows = db.session.execute(
        sa.select(User, TicketPresence.activity).join(TicketPresence, TicketPresence.agent_id == User.id)
        .where(TicketPresence.ticket_id == ticket.id, TicketPresence.agent_id != actor.id,
               TicketPresence.seen_at >= since)
        .order_by(TicketPresence.activity.desc(), User.full_name, User.id)).all()
    return [(user, activity) for user, activity in rows]


def newest_message_id(ticket):
    """The id of the ticket's latest customer message or agent reply (0 when none): what the reply form
    remembers as seen."""
    return db.session.scalar(sa.select(sa.func.max(Message.id)).where(
        Message.ticket_id == ticket.id, Message.kind.in_((CUSTOMER_MESSAGE, AGENT_REPLY)))) or 0


def messages_since(actor, ticket, seen_up_to):
    """Customer messages and other agents' replies on ``ticket`` newer than message id ``seen_up_to``,
    oldest first: what an agent about to reply has not seen yet."""
    access.require(actor, ticket, "note")
    seen_up_to = 0 if str(seen_up_to).strip() == "0" else parse_id(seen_up_to)
    if seen_up_to is None:
        return []
    return db.session.scalars(sa.select(Message).where(
        Message.ticket_id == ticket.id, Message.id > seen_up_to,
        sa.or_(Message.kind == CUSTOMER_MESSAGE,
               sa.and_(Message.kind == AGENT_REPLY,
                       sa.or_(Message.author_id.is_(None), Message.author_id != actor.id))),
    ).order_by(Message.id)).all()
