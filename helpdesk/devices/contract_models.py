"""A device's service contracts (its contract history: the initial one staff entered, renewals the buyer paid for,
periods staff granted) and the contract reminders already sent."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db


class DeviceContract(db.Model):
    """One service period of a device: ``starts_on`` up to ``ends_on`` (exclusive, as Device.service_ends_on).
    ``source``: "initial" (staff, at registration), "renewal" (a paid billing order: its service and invoice) or
    "granted" (staff). A billing service is fulfilled once: its id is unique here."""

    __tablename__ = "device_contracts"

    id = sa.Column(sa.Integer, primary_key=True)
    device_id = sa.Column(sa.Integer, sa.ForeignKey("devices.id"), nullable=False, index=True)
    starts_on = sa.Column(sa.Date, nullable=False)
    ends_on = sa.Column(sa.Date, nullable=False)
    years = sa.Column(sa.Integer)  # the years bought or granted; None for a period given in months or days
    source = sa.Column(sa.String(20), nullable=False)
    service_id = sa.Column(sa.Integer, sa.ForeignKey("billing_services.id"), unique=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"))
    note = sa.Column(sa.String(500), nullable=False, default="")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))

    device = relationship("Device")


class ContractReminder(db.Model):
    """A contract reminder sent: one per device, contract end and threshold (days before the end), so a daily run
    run twice (or in two processes) sends each once, and a renewed contract's new end is reminded of again."""

    __tablename__ = "device_contract_reminders"
    __table_args__ = (sa.UniqueConstraint("device_id", "ends_on", "days_before"),)

    id = sa.Column(sa.Integer, primary_key=True)
    device_id = sa.Column(sa.Integer, sa.ForeignKey("devices.id"), nullable=False)
    ends_on = sa.Column(sa.Date, nullable=False)
    days_before = sa.Column(sa.Integer, nullable=False)
    sent_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
