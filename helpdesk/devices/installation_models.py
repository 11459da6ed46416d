"""The installation confirmation a buyer signs once per device (issue 19), and the notes staff counter-sign on it.

Both are immutable once written: the confirmation keeps its content as canonical JSON with the SHA-256 of it, so a
change made behind the application's back (a raw UPDATE) is detected when the hash is checked; the ORM refuses to
update or delete either row (``FrozenRecord``, as billing does for final invoices). Notes are append-only."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.billing.models import FrozenRecord
from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db


class InstallationConfirmation(db.Model):
    """One signed confirmation: ``content`` (canonical JSON: the checklist, the installation day, the remarks, the
    "everything is done" tick, the device, the signer, the time and the client IP) and ``content_hash`` (SHA-256
    hex of its UTF-8 bytes). The columns beside it repeat what lists and checks need; the JSON is the record."""

    __tablename__ = "device_installations"

    id = sa.Column(sa.Integer, primary_key=True)
    device_id = sa.Column(sa.Integer, sa.ForeignKey("devices.id"), nullable=False, unique=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), nullable=False)  # the signer's
    content = sa.Column(sa.Text, nullable=False)
    content_hash = sa.Column(sa.String(64), nullable=False)
    signed_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    signed_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    signed_by_login = sa.Column(sa.String(254), nullable=False)  # the login's email as it was
    ip = sa.Column(sa.String(64), nullable=False, default="")

    device = relationship("Device")
    notes = relationship("InstallationNote", back_populates="confirmation", order_by="InstallationNote.id")


class InstallationNote(db.Model):
    """A note staff counter-signed on a confirmation: who, when, what. Never edited."""

    __tablename__ = "device_installation_notes"

    id = sa.Column(sa.Integer, primary_key=True)
    confirmation_id = sa.Column(sa.Integer, sa.ForeignKey("device_installations.id"), nullable=False, index=True)
    author_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    author_login = sa.Column(sa.String(254), nullable=False)
    text = sa.Column(sa.Text, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    confirmation = relationship(InstallationConfirmation, back_populates="notes")


def _refuse_change(mapper, connection, target):
    raise FrozenRecord(f"{type(target).__name__} rows are never changed or deleted")


for _model in (InstallationConfirmation, InstallationNote):
    sa.event.listen(_model, "before_update", _refuse_change)
    sa.event.listen(_model, "before_delete", _refuse_change)
