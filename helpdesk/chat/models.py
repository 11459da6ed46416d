"""Chats, their events (messages, internal notes, system events), attachments, and agents' availability."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db

# Chat.status
WAITING = "waiting"  # asked, no agent yet (also after a transfer to a department)
ACTIVE = "active"  # an agent has it
ENDED = "ended"
STATUSES = (WAITING, ACTIVE, ENDED)

# ChatEvent.kind
MESSAGE = "message"  # seen by both sides
NOTE = "note"  # agents only
SYSTEM = "system"  # accepted, transferred, converted, ended...: data holds the type and details; seen by both
KINDS = (MESSAGE, NOTE, SYSTEM)

# ChatEvent.side
CUSTOMER_SIDE = "customer"
AGENT_SIDE = "agent"
SYSTEM_SIDE = "system"

# ChatAgent.availability
ONLINE = "online"
AWAY = "away"
OFFLINE = "offline"
AVAILABILITIES = (ONLINE, AWAY, OFFLINE)

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite's rowid is what autoincrements


class Chat(db.Model):
    """One conversation. A guest's chat is reached with its visitor key (kept hashed); a customer's also by login."""

    __tablename__ = "chats"
    __table_args__ = (sa.Index("ix_chats_status_created", "status", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    status = sa.Column(sa.String(10), nullable=False, default=WAITING)
    department_id = sa.Column(sa.Integer, sa.ForeignKey("departments.id", ondelete="SET NULL"), index=True)
    customer_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    name = sa.Column(sa.String(200), nullable=False, default="")
    email = sa.Column(sa.String(320), nullable=False, default="")
    agent_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    language = sa.Column(sa.String(10), nullable=False, default="")
    origin = sa.Column(sa.String(500), nullable=False, default="")  # the page or website it started on
    visitor_key_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    accepted_at = sa.Column(UTCDateTime)
    ended_at = sa.Column(UTCDateTime)
    ended_by = sa.Column(sa.String(10))  # customer | agent | system
    last_activity_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    rating = sa.Column(sa.String(4))  # tickets.satisfaction's GOOD / BAD
    rating_comment = sa.Column(sa.Text, nullable=False, default="")
    customer_read_upto = sa.Column(_BIG_ID, nullable=False, default=0)  # the last event id each side has read
    agent_read_upto = sa.Column(_BIG_ID, nullable=False, default=0)
    transcript_sent_at = sa.Column(UTCDateTime)

    department = relationship("Department", foreign_keys=[department_id])
    customer = relationship("User", foreign_keys=[customer_id])
    agent = relationship("User", foreign_keys=[agent_id])
    ticket = relationship("Ticket", foreign_keys=[ticket_id])


class ChatEvent(db.Model):
    """Something said or done in a chat. Its id orders the chat and is the stream's event id (Last-Event-ID)."""

    __tablename__ = "chat_events"
    __table_args__ = (sa.Index("ix_chat_events_chat_id_id", "chat_id", "id"),)

    id = sa.Column(_BIG_ID, primary_key=True)
    chat_id = sa.Column(sa.Integer, sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False)
    kind = sa.Column(sa.String(10), nullable=False)
    side = sa.Column(sa.String(10), nullable=False)
    author_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    author_name = sa.Column(sa.String(200), nullable=False, default="")
    body = sa.Column(sa.Text, nullable=False, default="")
    data = sa.Column(sa.JSON)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    chat = relationship(Chat, backref=sa.orm.backref("events", order_by="ChatEvent.id", lazy="dynamic",
                                                     passive_deletes=True))
    author = relationship("User", foreign_keys=[author_id])
    attachments = relationship("ChatAttachment", back_populates="event", order_by="ChatAttachment.id",
                               passive_deletes=True)


class ChatAttachment(db.Model):
    """A file sent in a chat, checked like a ticket attachment and stored in helpdesk.storage."""

    __tablename__ = "chat_attachments"

    id = sa.Column(sa.Integer, primary_key=True)
    event_id = sa.Column(_BIG_ID, sa.ForeignKey("chat_events.id", ondelete="CASCADE"), nullable=False, index=True)
    filename = sa.Column(sa.String(255), nullable=False)
    content_type = sa.Column(sa.String(127), nullable=False)
    size = sa.Column(sa.BigInteger, nullable=False)
    sha256 = sa.Column(sa.String(64), nullable=False)  # also the storage key (helpdesk.storage), as for tickets
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    event = relationship(ChatEvent, back_populates="attachments")


class ChatAgent(db.Model):
    """An agent's chat availability. Online agents who have not been seen for a while count as away."""

    __tablename__ = "chat_agents"

    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    availability = sa.Column(sa.String(10), nullable=False, default=OFFLINE)
    max_chats = sa.Column(sa.Integer)  # None: the desk's CHAT_MAX_PER_AGENT
    seen_at = sa.Column(UTCDateTime)

    user = relationship("User")
