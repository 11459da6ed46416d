"""The webhooks' tables: the endpoints admins and customer accounts register, and one delivery row per event and
endpoint (the outbox: written in the transaction of the change, sent by a job after its commit)."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

PENDING, DELIVERED, FAILED, GIVEN_UP = "pending", "delivered", "failed", "given_up"
# "failed": the last attempt failed and another is planned; "given_up": the last attempt failed and none is.
STATUS_LABELS = {PENDING: _l("Waiting"), DELIVERED: _l("Delivered"), FAILED: _l("Failed, will retry"),
                 GIVEN_UP: _l("Given up")}
WAITING = (PENDING, FAILED)  # still to be sent
# Why the helpdesk disabled an endpoint (``disabled_reason``; NULL when a person switched it off).
REASON_FAILING, REASON_GIVEN_UP = "failing", "given_up"
DISABLED_REASONS = {
    REASON_FAILING: _l("Every delivery attempt failed for a day."),
    REASON_GIVEN_UP: _l("Several deliveries in a row were given up after every retry failed."),
}
TEST_KIND = "webhook.test"  # the ping send_test queues (not a domain event: no endpoint subscribes to it)


class WebhookEndpoint(db.Model):
    """A URL that hears the events it subscribed to: desk-wide (``account_id`` NULL, admins manage it) or one
    customer account's (its owners manage it; it hears only that account's events)."""

    __tablename__ = "webhook_endpoints"

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), index=True)
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    url = sa.Column(sa.String(2000), nullable=False)
    description = sa.Column(sa.String(500), nullable=False, default="")
    events = sa.Column(sa.JSON, nullable=False, default=list)  # kinds from helpdesk.events.KINDS
    # "whsec_..." sealed with the vault's keys (helpdesk.vault.crypto); its place is this row.
    secret = sa.Column(sa.Text, nullable=False)
    allow_private = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    enabled = sa.Column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    disabled_reason = sa.Column(sa.Text)
    failing_since = sa.Column(UTCDateTime)  # the first failed attempt since the last success
    given_up_in_a_row = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    account = relationship("CustomerAccount")
    created_by = relationship("User")

    @property
    def is_desk_wide(self) -> bool:
        return self.account_id is None

    @property
    def disabled_reason_label(self):
        """Why the helpdesk disabled it, in the reader's language (None when enabled or switched off by hand)."""
        if self.disabled_reason is None:
            return None
        return DISABLED_REASONS.get(self.disabled_reason, self.disabled_reason)


class WebhookDelivery(db.Model):
    """One event on its way to one endpoint. ``payload`` is the exact body sent; a redelivery is a new row with
    the same ``event_id``. Rows of one endpoint with the same ``ordering_key`` are sent in id order."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_endpoint_key", "endpoint_id", "ordering_key", "status"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    endpoint_id = sa.Column(sa.Integer, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    event_id = sa.Column(sa.String(40), nullable=False, index=True)  # "msg_..."
    kind = sa.Column(sa.String(60), nullable=False)
    payload = sa.Column(sa.JSON, nullable=False)
    ordering_key = sa.Column(sa.String(100))
    status = sa.Column(sa.String(10), nullable=False, default=PENDING)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    next_attempt_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at = sa.Column(UTCDateTime)  # a worker is sending it (a claim older than a few minutes was left)
    last_status_code = sa.Column(sa.Integer)
    last_response = sa.Column(sa.Text)  # the first 2 KB of the answer's body
    last_error = sa.Column(sa.Text)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    delivered_at = sa.Column(UTCDateTime)

    endpoint = relationship(WebhookEndpoint)

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def retry_at(self):
        """When it is tried next; None once it is settled (delivered or given up)."""
        return self.next_attempt_at if self.status in WAITING else None
