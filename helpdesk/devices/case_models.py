"""Pay-per-case tables: a ticket's link to the device it is about (the case), the price list staff keep
(difficulty × volume, per currency), the charges made on cases (each a billing invoice) and the crossings of the
debt ceiling (one warning each). See devices/cases.py."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# A case's state: open (covered by the contract, or pay-per-case within the ceiling), awaiting staff approval
# (opened above the debt ceiling), approved or refused by staff.
CASE_OPEN, CASE_AWAITING, CASE_APPROVED, CASE_REFUSED = "open", "awaiting_approval", "approved", "refused"
CASE_STATES = (CASE_OPEN, CASE_AWAITING, CASE_APPROVED, CASE_REFUSED)
CASE_STATE_LABELS = {CASE_OPEN: _l("Open"), CASE_AWAITING: _l("Awaiting approval"), CASE_APPROVED: _l("Approved"),
                     CASE_REFUSED: _l("Refused")}

DIFFICULTIES = ("simple", "standard", "complex")
DIFFICULTY_LABELS = {"simple": _l("Simple"), "standard": _l("Standard"), "complex": _l("Complex")}
VOLUMES = ("small", "medium", "large")
VOLUME_LABELS = {"small": _l("Small"), "medium": _l("Medium"), "large": _l("Large")}


class DeviceCase(db.Model):
    """A ticket about a device: one per ticket, made when the ticket is opened (tickets.device_gate)."""

    __tablename__ = "device_cases"

    id = sa.Column(sa.Integer, primary_key=True)
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True)
    device_id = sa.Column(sa.Integer, sa.ForeignKey("devices.id"), nullable=False, index=True)
    # The account that owned the device when the case was opened (the one a charge bills).
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), nullable=False, index=True)
    device_status = sa.Column(sa.String(30), nullable=False)  # devices.status code when it was opened
    state = sa.Column(sa.String(20), nullable=False, default=CASE_OPEN, server_default=CASE_OPEN, index=True)
    decided_at = sa.Column(UTCDateTime)
    decided_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    decision_note = sa.Column(sa.Text, nullable=False, default="", server_default="")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))

    ticket = relationship("Ticket")
    device = relationship("Device")
    charge = relationship("CaseCharge", back_populates="case", uselist=False)

    @property
    def state_label(self):
        return CASE_STATE_LABELS.get(self.state, self.state)


class CasePrice(db.Model):
    """What a case of a difficulty and volume costs, in a currency's minor unit (staff edit the grid)."""

    __tablename__ = "device_case_prices"
    __table_args__ = (sa.UniqueConstraint("difficulty", "volume", "currency"),)

    id = sa.Column(sa.Integer, primary_key=True)
    difficulty = sa.Column(sa.String(20), nullable=False)
    volume = sa.Column(sa.String(20), nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))


class CaseCharge(db.Model):
    """The charge for a pay-per-case case: its price list entry and amount as they were, and the billing invoice
    it became (whose unpaid part is the account's running debt)."""

    __tablename__ = "device_case_charges"

    id = sa.Column(sa.Integer, primary_key=True)
    case_id = sa.Column(sa.Integer, sa.ForeignKey("device_cases.id"), nullable=False, unique=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), nullable=False, index=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False, unique=True)
    difficulty = sa.Column(sa.String(20), nullable=False)
    volume = sa.Column(sa.String(20), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    note = sa.Column(sa.Text, nullable=False, default="")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))

    case = relationship(DeviceCase, back_populates="charge")
    invoice = relationship("Invoice")


class DebtCrossing(db.Model):
    """The account's debt in a currency went over the ceiling (and was warned once): open until a later charge
    finds the debt paid back below it, so the next crossing warns again. One open crossing per account and
    currency (the partial unique index), so two charges at once warn once."""

    __tablename__ = "device_debt_crossings"
    __table_args__ = (
        sa.Index("ix_device_debt_crossings_open", "account_id", "currency", unique=True,
                 postgresql_where=sa.text("cleared_at IS NULL"), sqlite_where=sa.text("cleared_at IS NULL")),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), nullable=False, index=True)
    currency = sa.Column(sa.String(3), nullable=False)
    debt = sa.Column(sa.BigInteger, nullable=False)  # the debt the crossing charge made
    ceiling = sa.Column(sa.BigInteger, nullable=False)
    charge_id = sa.Column(sa.Integer, sa.ForeignKey("device_case_charges.id"))
    crossed_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    cleared_at = sa.Column(UTCDateTime)
