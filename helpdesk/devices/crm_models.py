"""The CRM sync's tables: the outbox of device events waiting to reach the CRM (one row per event, written in the
transaction that changed the device), and the link from each device to the CRM's record of it."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATUS_LABELS = {PENDING: _l("Waiting"), SENDING: _l("Sending"), SENT: _l("Sent"), FAILED: _l("Failed")}
# Events the CRM gets as a note on the device's record besides its latest state (the others only change the state).
NOTE_KINDS = ("contract.added", "case.charged", "device.transferred", "installation.confirmed")
RECONCILE = "crm.reconcile"  # the kind of a row the nightly reconcile queued for a difference it found


class CrmOutboxEntry(db.Model):
    """One device event for the CRM. All due rows of a device are sent together: one push of the device's state
    as it is when sent (so the latest state wins), then a note per event of NOTE_KINDS."""

    __tablename__ = "crm_outbox"
    __table_args__ = (sa.Index("ix_crm_outbox_due", "status", "next_attempt_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    device_id = sa.Column(sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = sa.Column(sa.String(40), nullable=False)  # the event's kind (helpdesk.devices.events)
    details = sa.Column(sa.JSON, nullable=False, default=dict)
    status = sa.Column(sa.String(10), nullable=False, default=PENDING)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    next_attempt_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at = sa.Column(UTCDateTime)
    last_error = sa.Column(sa.Text)  # redacted: never the API key
    note_sent = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = sa.Column(UTCDateTime)

    device = relationship("Device")

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)


class CrmDeviceLink(db.Model):
    """The CRM's id for one of our devices, remembered from its first push (Didar's API has no upsert by our key),
    and when it was last brought in step."""

    __tablename__ = "crm_device_links"

    id = sa.Column(sa.Integer, primary_key=True)
    device_id = sa.Column(sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False,
                          unique=True)
    crm_id = sa.Column(sa.String(100), nullable=False)
    pushed_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
