"""The SMS outbox: one row per text to one phone number, written in the caller's transaction and kept after
sending as the record of what went out (the console's SMS page lists them)."""
import sqlalchemy as sa

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db

PENDING = "pending"
SENDING = "sending"  # claimed by a job that is calling the provider
SENT = "sent"
FAILED = "failed"  # refused for good, retried too often, or no provider configured; kept, never retried
STATUSES = (PENDING, SENDING, SENT, FAILED)


class SmsMessage(db.Model):
    __tablename__ = "sms_messages"
    __table_args__ = (sa.Index("ix_sms_messages_due", "status", "next_attempt_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # Ours for this message, fixed when the row is written: the provider gets it (Kavenegar's localid), so a
    # retry after a lost answer is recognised there and never sent a second time.
    reference = sa.Column(sa.String(40), nullable=False, unique=True)
    kind = sa.Column(sa.String(80), nullable=False)  # the notice's kind ("devices.debt_warning")
    phone = sa.Column(sa.String(20), nullable=False, index=True)  # E.164
    text = sa.Column(sa.Text, nullable=False)
    locale = sa.Column(sa.String(10))
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status = sa.Column(sa.String(10), nullable=False, default=PENDING)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    next_attempt_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at = sa.Column(UTCDateTime)
    provider = sa.Column(sa.String(40), nullable=False, default="")
    provider_id = sa.Column(sa.String(100), nullable=False, default="")
    last_error = sa.Column(sa.Text)  # never a secret: adapters redact their keys
    sent_at = sa.Column(UTCDateTime)
