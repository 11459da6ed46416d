"""The table of plan changes: a service moved to another product of its group, prorated by the day over its current
period (billing/plan_changes.py). One row per confirmed change, unique on the form's key so a double submit makes
one change; it keeps the figures the customer confirmed, the upgrade's invoice or the downgrade's credit."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# An upgrade waits for its invoice to be paid (pending); a downgrade or an even change is applied at once;
# a pending upgrade is cancelled when another change replaces it (or its service is cancelled before it is paid).
CHANGE_PENDING, CHANGE_APPLIED, CHANGE_CANCELLED = "pending", "applied", "cancelled"
CHANGE_STATUSES = (CHANGE_PENDING, CHANGE_APPLIED, CHANGE_CANCELLED)
CHANGE_STATUS_LABELS = {CHANGE_PENDING: _l("Waiting for payment"), CHANGE_APPLIED: _l("Done"),
                        CHANGE_CANCELLED: _l("Cancelled")}

# The credit ledger's kind for a downgrade's difference (and for an upgrade paid after its service was cancelled).
CREDIT_PLAN_CHANGE = "plan_change"


class PlanChange(db.Model):
    """A move of ``service`` from one product to another of the same group, effective ``effective_on``: the
    unused days of the old price credited, the remaining days of the new price charged (gross amounts, taxes as
    on the service's invoices). ``difference`` > 0 is an upgrade (``invoice`` asks for it), < 0 a downgrade (the
    account's credit got it), 0 an even change. Amounts are minor units of ``currency``."""

    __tablename__ = "billing_plan_changes"
    __table_args__ = (sa.Index("ix_billing_plan_changes_service_status", "service_id", "status"),)

    id = sa.Column(sa.Integer, primary_key=True)
    key = sa.Column(sa.String(64), nullable=False, unique=True)  # the confirming form's one-time token
    service_id = sa.Column(sa.Integer, sa.ForeignKey("billing_services.id"), nullable=False)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("billing_accounts.id"), nullable=False, index=True)
    from_product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id"), nullable=False)
    to_product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id"), nullable=False)
    cycle = sa.Column(sa.String(20), nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    quantity = sa.Column(sa.Integer, nullable=False)
    old_amount = sa.Column(sa.BigInteger, nullable=False)  # recurring unit price per cycle before
    new_amount = sa.Column(sa.BigInteger, nullable=False)  # and after
    new_options = sa.Column(sa.JSON, nullable=False, default=list)
    new_includes_tax = sa.Column(sa.Boolean, nullable=False, default=False)
    effective_on = sa.Column(sa.Date, nullable=False)
    period_start = sa.Column(sa.Date, nullable=False)
    period_end = sa.Column(sa.Date, nullable=False)  # exclusive, like the service's
    days_left = sa.Column(sa.Integer, nullable=False)
    days_in_period = sa.Column(sa.Integer, nullable=False)
    unused_credit = sa.Column(sa.BigInteger, nullable=False)  # gross, for the old plan's days left
    new_charge = sa.Column(sa.BigInteger, nullable=False)  # gross, for the new plan's days left
    difference = sa.Column(sa.BigInteger, nullable=False)  # new_charge - unused_credit
    status = sa.Column(sa.String(20), nullable=False, default=CHANGE_PENDING)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), index=True)
    requested_by_id = sa.Column(sa.Integer)  # no foreign key: like the audit trail's
    requested_by_label = sa.Column(sa.String(300), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    applied_at = sa.Column(UTCDateTime)
    cancelled_at = sa.Column(UTCDateTime)

    service = relationship("Service")
    from_product = relationship("Product", foreign_keys=[from_product_id])
    to_product = relationship("Product", foreign_keys=[to_product_id])
    invoice = relationship("Invoice")

    @property
    def is_upgrade(self) -> bool:
        return self.difference > 0
