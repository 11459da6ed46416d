"""The outbox: one row per email to one recipient, kept after sending as the record of what went out."""
import sqlalchemy as sa

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"  # refused for good by the server, or never buildable (bad address); kept, never retried


class OutboxEmail(db.Model):
    __tablename__ = "outbox_emails"
    __table_args__ = (sa.Index("ix_outbox_emails_due", "status", "next_attempt_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # The ticket this mail belongs to, if any (plain column: notify knows no ticket model).
    ticket_id = sa.Column(sa.Integer, index=True)
    # Message-ID of this email, fixed when the row is written so every retry sends the same one.
    message_id = sa.Column(sa.String(255), nullable=False, unique=True)
    sender = sa.Column(sa.String(320), nullable=False)
    recipient = sa.Column(sa.String(320), nullable=False, index=True)  # bare address
    recipient_name = sa.Column(sa.String(200), nullable=False, default="")
    subject = sa.Column(sa.String(998), nullable=False)
    body_text = sa.Column(sa.Text, nullable=False)
    body_html = sa.Column(sa.Text)
    # A mail rendered when it is first delivered, not when it is queued (keeps templates off the mail
    # gateway's hot path): the dotted path of the function that fills subject and bodies, and what it
    # needs. Cleared once rendered, so every retry sends the same text.
    render_with = sa.Column(sa.String(200))
    render_args = sa.Column(sa.JSON)
    # Extra headers: Reply-To, In-Reply-To, References, Auto-Submitted, ...
    headers = sa.Column(sa.JSON, nullable=False, default=dict)
    # [{"key": storage key, "filename": ..., "content_type": ...}]
    attachments = sa.Column(sa.JSON, nullable=False, default=list)
    status = sa.Column(sa.String(10), nullable=False, default=PENDING)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    next_attempt_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at = sa.Column(UTCDateTime)
    last_error = sa.Column(sa.Text)
    sent_at = sa.Column(UTCDateTime)
