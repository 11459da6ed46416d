"""Issue 17's billing tables: holds on services (overdue suspensions and staff's manual holds), the reminders sent
for an invoice, and the late fees charged for one. Each is unique on what makes it happen once (a hold per service
and overdue invoice, a reminder per invoice and kind, a late fee per invoice), so a daily run done twice, or in two
processes at once, writes each once: the database refuses the second."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# Why a service is held: an overdue invoice (placed and lifted by the daily run and the payment path), or staff's
# decision with a reason ("awaiting ID verification", "abuse"), which only staff lift.
HOLD_OVERDUE, HOLD_MANUAL = "overdue", "manual"
HOLD_KINDS = (HOLD_OVERDUE, HOLD_MANUAL)
HOLD_KIND_LABELS = {HOLD_OVERDUE: _l("Suspended for non-payment"), HOLD_MANUAL: _l("Held")}

# The mails about an invoice, in the order they go out: the renewal invoice itself, a reminder before its due
# date, one on it, three overdue notices (days in BILLING_REMINDER_DAYS).
REMINDER_INVOICE, REMINDER_BEFORE, REMINDER_DUE = "invoice", "before", "due"
REMINDER_OVERDUE_1, REMINDER_OVERDUE_2, REMINDER_OVERDUE_3 = "overdue_1", "overdue_2", "overdue_3"
REMINDER_KINDS = (REMINDER_INVOICE, REMINDER_BEFORE, REMINDER_DUE, REMINDER_OVERDUE_1, REMINDER_OVERDUE_2,
                  REMINDER_OVERDUE_3)


class ServiceHold(db.Model):
    """A hold on a service: the service is suspended while it has one that is not lifted. Overdue holds name the
    invoice (one per service and invoice); manual ones a reason."""

    __tablename__ = "billing_service_holds"
    __table_args__ = (sa.UniqueConstraint("service_id", "invoice_id"),
                      sa.Index("ix_billing_service_holds_open", "service_id", "lifted_at"))

    id = sa.Column(sa.Integer, primary_key=True)
    service_id = sa.Column(sa.Integer, sa.ForeignKey("billing_services.id"), nullable=False)
    kind = sa.Column(sa.String(20), nullable=False)
    reason = sa.Column(sa.Text, nullable=False, default="")
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), index=True)
    placed_by_id = sa.Column(sa.Integer)  # no foreign key: like the audit trail's
    placed_by_label = sa.Column(sa.String(300), nullable=False)
    placed_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    lifted_at = sa.Column(UTCDateTime)
    lifted_by_id = sa.Column(sa.Integer)
    lifted_by_label = sa.Column(sa.String(300))

    service = relationship("Service")
    invoice = relationship("Invoice")

    @property
    def is_open(self) -> bool:
        return self.lifted_at is None


class BillingReminder(db.Model):
    """A mail about an invoice that went out: one per invoice and kind."""

    __tablename__ = "billing_reminders"
    __table_args__ = (sa.UniqueConstraint("invoice_id", "kind"),)

    id = sa.Column(sa.Integer, primary_key=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False)
    kind = sa.Column(sa.String(20), nullable=False)
    day = sa.Column(sa.Date, nullable=False)  # the run's day
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    invoice = relationship("Invoice")


class LateFee(db.Model):
    """The late fee charged for an overdue invoice, as an invoice of its own (``fee_invoice_id``): once per invoice."""

    __tablename__ = "billing_late_fees"

    id = sa.Column(sa.Integer, primary_key=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False, unique=True)
    fee_invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    day = sa.Column(sa.Date, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
