"""Ownership transfers of devices (issue 19): the owner's request naming the new owner, the new owner's
confirmation (a link or a six-digit code sent by SMS, kept only as hashes), and staff's decision."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# A transfer waits for the new owner, then for staff; it ends approved (the device moved), refused or cancelled.
AWAITING_CONFIRMATION, AWAITING_APPROVAL = "awaiting_confirmation", "awaiting_approval"
APPROVED, REFUSED, CANCELLED = "approved", "refused", "cancelled"
OPEN_STATUSES = (AWAITING_CONFIRMATION, AWAITING_APPROVAL)
STATUS_LABELS = {AWAITING_CONFIRMATION: _l("Waiting for the new owner's confirmation"),
                 AWAITING_APPROVAL: _l("Waiting for our approval"), APPROVED: _l("Approved: the device moved"),
                 REFUSED: _l("Refused"), CANCELLED: _l("Cancelled")}
# How the new owner confirmed.
BY_LINK, BY_CODE = "link", "code"


class DeviceTransfer(db.Model):
    __tablename__ = "device_transfers"
    __table_args__ = (sa.Index("ix_device_transfers_status", "status", "id"),)

    id = sa.Column(sa.Integer, primary_key=True)
    device_id = sa.Column(sa.Integer, sa.ForeignKey("devices.id"), nullable=False, index=True)
    from_account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), nullable=False, index=True)
    to_account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"))  # set on approval
    requested_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    new_owner_name = sa.Column(sa.String(200), nullable=False)
    new_owner_national_id = sa.Column(sa.String(10), nullable=False, index=True)
    new_owner_phone = sa.Column(sa.String(20), nullable=False)  # E.164
    # The owner's statement that their ownership ends, as they ticked it (in their language).
    statement = sa.Column(sa.String(500), nullable=False)
    status = sa.Column(sa.String(30), nullable=False, default=AWAITING_CONFIRMATION)
    # The new owner's code (HMAC-SHA256 with the secret key and the transfer's id) and link token (SHA-256): both
    # cleared once used, so neither works twice; wrong codes are counted.
    code_hash = sa.Column(sa.String(64))
    token_hash = sa.Column(sa.String(64), unique=True)
    code_expires_at = sa.Column(UTCDateTime)
    code_attempts = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    codes_sent = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    confirmed_at = sa.Column(UTCDateTime)
    confirmed_by = sa.Column(sa.String(10))  # "link" or "code"
    confirmed_ip = sa.Column(sa.String(64))
    decided_at = sa.Column(UTCDateTime)
    decided_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    reason = sa.Column(sa.Text, nullable=False, default="")  # staff's reason for a refusal
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    device = relationship("Device")
    from_account = relationship("CustomerAccount", foreign_keys=[from_account_id])
    to_account = relationship("CustomerAccount", foreign_keys=[to_account_id])
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
