"""Tables of the ticket store."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.accounts.models import User
from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# Statuses, in the order an agent meets them. Labels are what people read.
OPEN, IN_PROGRESS, ANSWERED, WAITING, CLOSED = "open", "in_progress", "answered", "waiting_on_customer", "closed"
STATUSES = {
    OPEN: _l("Open"),
    IN_PROGRESS: _l("In progress"),
    ANSWERED: _l("Answered"),
    WAITING: _l("Waiting on customer"),
    CLOSED: _l("Closed"),
}
LOW, NORMAL, HIGH, URGENT = "low", "normal", "high", "urgent"
PRIORITIES = {LOW: _l("Low"), NORMAL: _l("Normal"), HIGH: _l("High"), URGENT: _l("Urgent")}

# Message kinds: what customers may see is everything but internal notes.
CUSTOMER_MESSAGE, AGENT_REPLY, INTERNAL_NOTE, SYSTEM_EVENT = "customer", "agent_reply", "internal_note", "system"
MESSAGE_KINDS = (CUSTOMER_MESSAGE, AGENT_REPLY, INTERNAL_NOTE, SYSTEM_EVENT)
SOURCES = ("web", "email", "api", "system")

REQUESTER, CC = "requester", "cc"

department_agents = sa.Table(
    "department_agents",
    db.Model.metadata,
    sa.Column("department_id", sa.ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Department(db.Model):
    __tablename__ = "departments"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(100), nullable=False, unique=True)
    # Where customers write to (and reply to, with a ticket token when plus-addressing is on).
    inbound_address = sa.Column(sa.String(254))
    # From address of mail this department sends.
    reply_from_address = sa.Column(sa.String(254))
    signature = sa.Column(sa.Text, nullable=False, default="")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    agents = relationship(User, secondary=department_agents, backref="departments")


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        sa.Index("ix_tickets_status_activity", "status", "last_activity_at"),
        sa.Index("ix_tickets_requester_activity", "requester_id", "last_activity_at"),
        # The queue's keyset pages over open tickets (see tickets/queue.py), by activity and by creation.
        sa.Index("ix_tickets_open_activity", "last_activity_at", "id",
                 postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'")),
        sa.Index("ix_tickets_open_created", "created_at", "id",
                 postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'")),
        sa.Index("ix_tickets_open_assignee_activity", "assignee_id", "last_activity_at",
                 postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'")),
        sa.Index("ix_tickets_status_created", "status", "created_at", "id"),
        # SLA: the queue's "due" sort and its at-risk/breached views, and the breach job (tickets/sla/breaches.py).
        sa.Index("ix_tickets_open_sla_due", "sla_due_at", "id",
                 postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'")),
        sa.Index("ix_tickets_open_first_response_due", "first_response_due_at",
                 postgresql_where=sa.text("status <> 'closed' AND first_response_at IS NULL"),
                 sqlite_where=sa.text("status <> 'closed' AND first_response_at IS NULL")),
        sa.Index("ix_tickets_open_resolution_due", "resolution_due_at",
                 postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'")),
        # The sidebar counts (an index-only GROUP BY). The priority sort's expression indexes
        # (ix_tickets_open_urgency_activity, ix_tickets_closed_urgency_activity) are in migration 0011.
        sa.Index("ix_tickets_open_counts", "status", "priority", "department_id", "assignee_id",
                 postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'")),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    number = sa.Column(sa.Integer, nullable=False, unique=True)
    subject = sa.Column(sa.String(255), nullable=False)
    status = sa.Column(sa.String(20), nullable=False, default=OPEN, index=True)
    priority = sa.Column(sa.String(10), nullable=False, default=NORMAL)
    department_id = sa.Column(sa.Integer, sa.ForeignKey("departments.id"), index=True)
    requester_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), nullable=False)
    assignee_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), index=True)
    organisation_id = sa.Column(sa.Integer, sa.ForeignKey("organisations.id"), index=True)
    # The customer account the ticket belongs to (issue 18): the one its requester acted for; none for guests'.
    customer_account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), index=True)
    source = sa.Column(sa.String(10), nullable=False, default="web")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    last_activity_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    first_response_at = sa.Column(UTCDateTime)
    closed_at = sa.Column(UTCDateTime)
    # The earlier ticket this one follows up (a late reply to a closed ticket, a stranger's reply).
    linked_ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL"))
    # SLA clocks (tickets/sla/clock.py): due times, the next of them (for the queue), when the resolution clock
    # started, when it was paused (waiting on customer) and for how long, and when each breach was flagged.
    first_response_due_at = sa.Column(UTCDateTime)
    resolution_due_at = sa.Column(UTCDateTime)
    sla_due_at = sa.Column(UTCDateTime)
    sla_started_at = sa.Column(UTCDateTime)
    sla_paused_at = sa.Column(UTCDateTime)
    sla_paused_minutes = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    first_response_breached_at = sa.Column(UTCDateTime)
    resolution_breached_at = sa.Column(UTCDateTime)
    # The ticket this one was merged into (it is closed; mail to it lands there). See tickets/merge.py.
    merged_into_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL"))
    # Opened on the guest form with the address of a registered customer or agent: not theirs (not in their
    # list, not written by them) until the address owner confirms it by the link in the acknowledgement.
    # See tickets/requester_confirmation.py.
    requester_unconfirmed = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())

    department = relationship(Department)
    linked_ticket = relationship("Ticket", remote_side=[id], foreign_keys=[linked_ticket_id])
    merged_into = relationship("Ticket", remote_side=[id], foreign_keys=[merged_into_id])
    organisation = relationship("Organisation", foreign_keys=[organisation_id])
    customer_account = relationship("CustomerAccount", foreign_keys=[customer_account_id])
    requester = relationship(User, foreign_keys=[requester_id])
    assignee = relationship(User, foreign_keys=[assignee_id])
    # By time, then id: messages merged in from another ticket keep their place in the conversation.
    messages = relationship("Message", back_populates="ticket", order_by="(Message.created_at, Message.id)",
                            cascade="all, delete-orphan")
    participants = relationship("Participant", back_populates="ticket", order_by="Participant.id",
                                cascade="all, delete-orphan")
    # The facts given with the ticket (None when none were): see tickets/details.py.
    details = relationship("TicketDetails", back_populates="ticket", uselist=False, cascade="all, delete-orphan")

    @property
    def is_closed(self):
        return self.status == CLOSED

    @property
    def status_label(self):
        return STATUSES.get(self.status, self.status)

    @property
    def priority_label(self):
        return PRIORITIES.get(self.priority, self.priority)

    @property
    def public_messages(self):
        return [m for m in self.messages if m.kind != INTERNAL_NOTE]

    @property
    def cc_participants(self):
        return [p for p in self.participants if p.role == CC]

    def __repr__(self):
        return f"<Ticket #{self.number} {self.status}>"


class Message(db.Model):
    __tablename__ = "messages"

    id = sa.Column(sa.Integer, primary_key=True)
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = sa.Column(sa.String(20), nullable=False)
    author_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    # As written at the time (an email sender need not be a user).
    author_email = sa.Column(sa.String(254))
    author_name = sa.Column(sa.String(200))
    body_text = sa.Column(sa.Text, nullable=False, default="")
    body_html = sa.Column(sa.Text, nullable=False, default="")  # sanitised
    # RFC 5322 Message-ID of this message (inbound mail keeps its own; others get one of ours).
    message_id = sa.Column(sa.String(998), index=True)
    in_reply_to = sa.Column(sa.String(998))
    source = sa.Column(sa.String(10), nullable=False, default="web")
    # For system events: what changed, as data ({"type": "status", "from": ..., "to": ...}).
    event = sa.Column(sa.JSON)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    ticket = relationship(Ticket, back_populates="messages")
    author = relationship(User)
    attachments = relationship("Attachment", back_populates="message", order_by="Attachment.id")

    @property
    def is_internal(self):
        return self.kind == INTERNAL_NOTE


class Participant(db.Model):
    """Someone on a ticket: its requester or a CC address (linked to a user when one exists)."""

    __tablename__ = "participants"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "email", name="uq_participants_ticket_email"),)

    id = sa.Column(sa.Integer, primary_key=True)
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    email = sa.Column(sa.String(254), nullable=False, index=True)
    name = sa.Column(sa.String(200), nullable=False, default="")
    role = sa.Column(sa.String(10), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), index=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    ticket = relationship(Ticket, back_populates="participants")
    user = relationship(User)


class Attachment(db.Model):
    __tablename__ = "attachments"

    id = sa.Column(sa.Integer, primary_key=True)
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    message_id = sa.Column(sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename = sa.Column(sa.String(255), nullable=False)
    content_type = sa.Column(sa.String(127), nullable=False)
    size = sa.Column(sa.BigInteger, nullable=False)
    sha256 = sa.Column(sa.String(64), nullable=False, index=True)  # also the storage key
    # For inline images: the Content-ID the HTML refers to.
    content_id = sa.Column(sa.String(255))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    message = relationship(Message, back_populates="attachments")
    ticket = relationship(Ticket)


class TicketDetails(db.Model):
    """The facts a customer gave with a new ticket, beside its first message (see tickets/details.py); a row
    only for tickets that have any. Apart from the ticket row so the queue's pages never read diagnostics."""

    __tablename__ = "ticket_details"

    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    reference = sa.Column(sa.String(100), index=True)  # an order or service reference, as typed
    server_ip = sa.Column(sa.String(45), index=True)  # normalised (ipaddress): 2001:db8::1, 203.0.113.7
    problem_started_at = sa.Column(UTCDateTime)
    problem_timezone = sa.Column(sa.String(64))  # the zone the customer gave the time in
    diagnostics = sa.Column(sa.Text)  # traceroute output and the like, shown as typed (monospace)
    # The customer's service they picked (billing's reference for it, and its name at the time).
    service_ref = sa.Column(sa.String(100))
    service_label = sa.Column(sa.String(200))
    # What a guest said about themselves on the form.
    company_name = sa.Column(sa.String(200))
    customer_number = sa.Column(sa.String(50))

    ticket = relationship(Ticket, back_populates="details")
