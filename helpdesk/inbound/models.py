"""The inbound store: every message the gateway ever fetched, raw bytes kept, with what became of it."""
import sqlalchemy as sa

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db

RECEIVED = "received"        # stored, not yet processed
PROCESSED = "processed"      # became a ticket or a message on one
IGNORED = "ignored"          # kept on purpose without a ticket change (auto-reply, bounce, loop, blocked)
QUARANTINED = "quarantined"  # a step failed or a person must decide; an agent can retry it


class InboundMessage(db.Model):
    __tablename__ = "inbound_messages"

    id = sa.Column(sa.Integer, primary_key=True)
    received_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # Which mailbox it came from ("imap:support", "maildir:drop", "file").
    mailbox = sa.Column(sa.String(200), nullable=False)
    # Where in that mailbox: "<uidvalidity>:<uid>" for IMAP, the file name for a Maildir; unique per mailbox.
    source_ref = sa.Column(sa.String(300))
    message_id = sa.Column(sa.String(998), index=True)
    # sha256 of Message-ID and body: the same message delivered twice (even to two mailboxes) shares it.
    fingerprint = sa.Column(sa.String(64), nullable=False, unique=True)
    # Storage key (sha256) of the raw bytes, kept in attachment storage.
    raw_key = sa.Column(sa.String(64), nullable=False)
    size = sa.Column(sa.Integer, nullable=False)
    sender = sa.Column(sa.String(320))
    subject = sa.Column(sa.String(998))
    status = sa.Column(sa.String(12), nullable=False, default=RECEIVED)
    # What happened: new_ticket, added, agent_reply, auto_reply, bounce, loop, blocked, rate_limited, ...
    outcome = sa.Column(sa.String(30))
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    # Why it was quarantined or ignored: a code with values (see reasons.py), shown in the reader's language.
    reason_code = sa.Column(sa.String(40))
    reason_params = sa.Column(sa.JSON)
    # For quarantined mail: the step that failed and the technical detail (traceback).
    step = sa.Column(sa.String(20))
    error = sa.Column(sa.Text)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    processed_at = sa.Column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_inbound_messages_status_id", "status", "id"),
        sa.UniqueConstraint("mailbox", "source_ref", name="uq_inbound_messages_mailbox_source_ref"),
        sa.Index("ix_inbound_messages_sender_received", "sender", "received_at"),
    )


class MailboxState(db.Model):
    """How far the gateway has read an IMAP folder (UIDVALIDITY and the highest stored UID)."""

    __tablename__ = "mailbox_states"

    mailbox = sa.Column(sa.String(200), primary_key=True)
    uidvalidity = sa.Column(sa.BigInteger, nullable=False)
    last_uid = sa.Column(sa.BigInteger, nullable=False, default=0)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


GRANT_OK = "ok"
GRANT_ERROR = "error"  # the provider refused the refresh token (revoked, expired): an admin must connect again


class MailboxGrant(db.Model):
    """What an admin's OAuth 2 consent gave an IMAP mailbox: the tokens (encrypted, see inbound.oauth.TokenCipher)
    and whether they still work. One row per configured mailbox name."""

    __tablename__ = "mailbox_grants"

    mailbox = sa.Column(sa.String(200), primary_key=True)  # the name in MAIL_MAILBOXES
    provider = sa.Column(sa.String(100), nullable=False)  # the name in MAIL_OAUTH_PROVIDERS
    account = sa.Column(sa.String(320))  # who consented, as the provider names them (an email address)
    refresh_token = sa.Column(sa.Text)  # encrypted
    access_token = sa.Column(sa.Text)  # encrypted
    access_token_expires_at = sa.Column(UTCDateTime)
    state = sa.Column(sa.String(12), nullable=False, default=GRANT_OK)
    error = sa.Column(sa.Text)  # the provider's error code and description, for the admins
    error_since = sa.Column(UTCDateTime)
    admins_notified = sa.Column(sa.Boolean, nullable=False, default=False)
    connected_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    connected_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    refreshed_at = sa.Column(UTCDateTime)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
