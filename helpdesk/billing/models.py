"""Billing's records: the billed party (BillingAccount), orders, invoices and their lines, the services bought,
payments, the credit ledger, bank-transfer bookings and proofs, payment attempts at gateways, billing staff.

Every billing row names the billed party through ``account_id`` (billing_accounts), never a user directly:
issue 18's customer accounts re-point BillingAccount alone. Amounts are BigInteger minor units (billing/money.py)."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.billing.catalogue_models import INDIVIDUAL
from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# Order statuses: pending until paid (or accepted by staff), on hold (staff: do not activate yet), active, cancelled.
ORDER_PENDING, ORDER_ON_HOLD, ORDER_ACTIVE, ORDER_CANCELLED = "pending", "on_hold", "active", "cancelled"
ORDER_STATUSES = (ORDER_PENDING, ORDER_ON_HOLD, ORDER_ACTIVE, ORDER_CANCELLED)
ORDER_STATUS_LABELS = {ORDER_PENDING: _l("Pending"), ORDER_ON_HOLD: _l("On hold"), ORDER_ACTIVE: _l("Active"),
                       ORDER_CANCELLED: _l("Cancelled")}

# Invoice kinds and statuses. A proforma has a reference and no number; paid in full it becomes final and takes
# the next number of its series. A proforma may be cancelled; a final invoice only credited (by a credit note,
# itself final from the start).
KIND_INVOICE, KIND_CREDIT_NOTE = "invoice", "credit_note"
PROFORMA, FINAL, CANCELLED, CREDITED = "proforma", "final", "cancelled", "credited"
INVOICE_STATUSES = (PROFORMA, FINAL, CANCELLED, CREDITED)
INVOICE_STATUS_LABELS = {PROFORMA: _l("Proforma"), FINAL: _l("Paid"), CANCELLED: _l("Cancelled"),
                         CREDITED: _l("Credited")}

# Service statuses (what the customer bought).
SERVICE_PENDING, SERVICE_ACTIVE, SERVICE_SUSPENDED, SERVICE_CANCELLED = "pending", "active", "suspended", "cancelled"
SERVICE_STATUSES = (SERVICE_PENDING, SERVICE_ACTIVE, SERVICE_SUSPENDED, SERVICE_CANCELLED)
SERVICE_STATUS_LABELS = {SERVICE_PENDING: _l("Pending"), SERVICE_ACTIVE: _l("Active"),
                         SERVICE_SUSPENDED: _l("Suspended"), SERVICE_CANCELLED: _l("Cancelled")}

# Where a payment came from: a gateway's name (its adapter's), or one of these.
SOURCE_BANK_TRANSFER, SOURCE_CREDIT, SOURCE_MANUAL = "bank_transfer", "credit", "manual"

# Transfer bookings: counted at once, or waiting for a second staff member's approval (four eyes).
BOOKING_AWAITING_APPROVAL, BOOKING_COUNTED, BOOKING_REJECTED = "awaiting_approval", "counted", "rejected"

# Payment attempts at a gateway.
ATTEMPT_STARTED, ATTEMPT_REDIRECTED, ATTEMPT_SUCCEEDED, ATTEMPT_FAILED = "started", "redirected", "succeeded", "failed"
ATTEMPT_STATUSES = (ATTEMPT_STARTED, ATTEMPT_REDIRECTED, ATTEMPT_SUCCEEDED, ATTEMPT_FAILED)

# Credit ledger entry kinds.
CREDIT_OVERPAYMENT = "overpayment"  # paid more than was due
CREDIT_SPENT = "spent"  # paid an invoice from credit
CREDIT_REFUND = "refund"  # a credit note or a cancelled order gave paid money back as credit
CREDIT_ADJUSTMENT = "adjustment"  # staff put credit on (or took it off) the account
CREDIT_KINDS = (CREDIT_OVERPAYMENT, CREDIT_SPENT, CREDIT_REFUND, CREDIT_ADJUSTMENT)


class BillingAccount(db.Model):
    """The billed party: whose orders, invoices, services, payments and credit these are, and the details an
    invoice freezes (name, address, country, customer type, tax number). One per customer account (issue 18),
    found through it (billing/customers.py); ``user_id`` is the login it was opened for or its account's owner,
    the person invoices are mailed to, kept for history and no longer how an account is found."""

    __tablename__ = "billing_accounts"

    id = sa.Column(sa.Integer, primary_key=True)
    customer_account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), nullable=False, unique=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    name = sa.Column(sa.String(200), nullable=False, default="")  # a person's or company's name
    address = sa.Column(sa.Text, nullable=False, default="")
    country = sa.Column(sa.String(2), nullable=False, default="")
    customer_type = sa.Column(sa.String(20), nullable=False, default=INDIVIDUAL)
    tax_number = sa.Column(sa.String(40), nullable=False, default="")  # VAT number (EU), VKN/TCKN, adószám, کد ملی
    tax_office = sa.Column(sa.String(100), nullable=False, default="")  # Turkish invoices name it (vergi dairesi)
    currency = sa.Column(sa.String(3), nullable=False)  # preferred
    # Renewal invoices are paid from the credit balance when it covers them (issue 17; the customer may say no).
    auto_pay_from_credit = sa.Column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    user = relationship("User")
    customer_account = relationship("CustomerAccount")


class CreditBalance(db.Model):
    """An account's credit in one currency: the sum of its ledger entries, kept in a row that spends lock
    (SELECT ... FOR UPDATE) so two spends racing are serialised; the database refuses a negative balance."""

    __tablename__ = "billing_credit_balances"
    __table_args__ = (sa.UniqueConstraint("account_id", "currency"),
                      sa.CheckConstraint("balance >= 0", name="not_negative"))

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("billing_accounts.id"), nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    balance = sa.Column(sa.BigInteger, nullable=False, default=0)


class CreditEntry(db.Model):
    """One movement of credit (append-only: never changed nor deleted). ``amount`` is signed."""

    __tablename__ = "billing_credit_entries"

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("billing_accounts.id"), nullable=False, index=True)
    currency = sa.Column(sa.String(3), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    balance_after = sa.Column(sa.BigInteger, nullable=False)
    kind = sa.Column(sa.String(20), nullable=False)
    payment_id = sa.Column(sa.Integer, sa.ForeignKey("billing_payments.id"), index=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), index=True)
    note = sa.Column(sa.String(500), nullable=False, default="")
    actor_label = sa.Column(sa.String(300), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class Order(db.Model):
    """What a customer checked out: its items, its proforma invoice and the services it creates."""

    __tablename__ = "billing_orders"
    __table_args__ = (sa.Index("ix_billing_orders_status_created", "status", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("billing_accounts.id"), nullable=False, index=True)
    status = sa.Column(sa.String(20), nullable=False, default=ORDER_PENDING)
    currency = sa.Column(sa.String(3), nullable=False)
    payment_method = sa.Column(sa.String(40), nullable=False)  # bank_transfer, credit, or a gateway's name
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    placed_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    accepted_at = sa.Column(UTCDateTime)
    accepted_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    cancelled_at = sa.Column(UTCDateTime)
    staff_note = sa.Column(sa.Text, nullable=False, default="")

    account = relationship(BillingAccount)
    items = relationship("OrderItem", back_populates="order", order_by="OrderItem.position",
                         cascade="all, delete-orphan")
    invoices = relationship("Invoice", back_populates="order", order_by="Invoice.id")
    services = relationship("Service", back_populates="order", order_by="Service.id")

    @property
    def invoice(self):
        """The order's own invoice (its proforma, final once paid); credit notes come later."""
        return next((i for i in self.invoices if i.kind == KIND_INVOICE), None)


class OrderItem(db.Model):
    """A line of the cart as checked out: product, cycle, the options chosen (codes and the words the buyer saw),
    the identifier given (a domain name, a hostname, a device's serial); package contents have a parent."""

    __tablename__ = "billing_order_items"

    id = sa.Column(sa.Integer, primary_key=True)
    order_id = sa.Column(sa.Integer, sa.ForeignKey("billing_orders.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    parent_id = sa.Column(sa.Integer, sa.ForeignKey("billing_order_items.id"))
    product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id"), nullable=False)
    cycle = sa.Column(sa.String(20), nullable=False)
    quantity = sa.Column(sa.Integer, nullable=False, default=1)
    identifier = sa.Column(sa.String(200), nullable=False, default="")
    options = sa.Column(sa.JSON, nullable=False, default=list)
    position = sa.Column(sa.Integer, nullable=False, default=0)

    order = relationship(Order, back_populates="items")
    product = relationship("Product")


class Invoice(db.Model):
    """An invoice or credit note, frozen at creation: buyer, seller, lines, taxes, currency. Only its payment
    state changes (amount paid; proforma → final with its number; final → credited); a final one is never
    edited or deleted (models refuse it, see below)."""

    __tablename__ = "billing_invoices"
    __table_args__ = (sa.UniqueConstraint("series", "year", "sequence"),
                      sa.Index("ix_billing_invoices_account_status", "account_id", "status", "id"),
                      sa.CheckConstraint("amount_paid >= 0", name="paid_not_negative"))

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("billing_accounts.id"), nullable=False)
    order_id = sa.Column(sa.Integer, sa.ForeignKey("billing_orders.id"), index=True)
    kind = sa.Column(sa.String(20), nullable=False, default=KIND_INVOICE)
    status = sa.Column(sa.String(20), nullable=False, default=PROFORMA)
    reference = sa.Column(sa.String(20), nullable=False, unique=True)  # the proforma's name, before a number
    payment_reference = sa.Column(sa.String(30), nullable=False, unique=True)  # quoted on a bank transfer
    series = sa.Column(sa.String(20), nullable=False)
    year = sa.Column(sa.Integer)  # of the number, when the series restarts yearly
    sequence = sa.Column(sa.Integer)
    number = sa.Column(sa.String(40), unique=True)  # "2026-000123", once final
    currency = sa.Column(sa.String(3), nullable=False)
    language = sa.Column(sa.String(10), nullable=False)  # the buyer's, which the lines were written in
    net_total = sa.Column(sa.BigInteger, nullable=False)
    tax_total = sa.Column(sa.BigInteger, nullable=False)
    total = sa.Column(sa.BigInteger, nullable=False)
    amount_paid = sa.Column(sa.BigInteger, nullable=False, default=0)
    reverse_charge = sa.Column(sa.Boolean, nullable=False, default=False)
    tax_note = sa.Column(sa.Text, nullable=False, default="")
    buyer_name = sa.Column(sa.String(200), nullable=False)
    buyer_address = sa.Column(sa.Text, nullable=False, default="")
    buyer_country = sa.Column(sa.String(2), nullable=False, default="")
    buyer_customer_type = sa.Column(sa.String(20), nullable=False)
    buyer_tax_number = sa.Column(sa.String(40), nullable=False, default="")
    buyer_tax_office = sa.Column(sa.String(100), nullable=False, default="")
    buyer_email = sa.Column(sa.String(254), nullable=False, default="")
    seller = sa.Column(sa.JSON, nullable=False, default=dict)  # BILLING_SELLER as it was
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    due_date = sa.Column(sa.Date)
    finalised_at = sa.Column(UTCDateTime)
    issue_date = sa.Column(sa.Date)  # the final invoice's date (in the business time zone)
    cancelled_at = sa.Column(UTCDateTime)
    credited_invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"))  # a credit note's original

    account = relationship(BillingAccount)
    order = relationship(Order, back_populates="invoices")
    lines = relationship("InvoiceLine", back_populates="invoice", order_by="InvoiceLine.position",
                         cascade="all, delete-orphan")
    credited_invoice = relationship("Invoice", remote_side=[id])

    @property
    def balance_due(self) -> int:
        return max(self.total - self.amount_paid, 0) if self.status == PROFORMA else 0

    @property
    def is_final(self) -> bool:
        return self.status in (FINAL, CREDITED)

    @property
    def name(self) -> str:
        """What the invoice is called: its number once final, its reference before."""
        return self.number or self.reference


class InvoiceLine(db.Model):
    """A frozen line: words in the invoice's language, quantity and unit price, the tax (name and rate) and the
    line's net, tax and gross as money.line_amounts computed them; the service and period it pays, if any."""

    __tablename__ = "billing_invoice_lines"

    id = sa.Column(sa.Integer, primary_key=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False, index=True)
    position = sa.Column(sa.Integer, nullable=False)
    description = sa.Column(sa.Text, nullable=False)
    product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id"))
    service_id = sa.Column(sa.Integer, sa.ForeignKey("billing_services.id"), index=True)
    cycle = sa.Column(sa.String(20))
    quantity = sa.Column(sa.Integer, nullable=False, default=1)
    unit_price = sa.Column(sa.BigInteger, nullable=False)
    includes_tax = sa.Column(sa.Boolean, nullable=False, default=False)
    tax_name = sa.Column(sa.String(60), nullable=False, default="")
    tax_rate_bp = sa.Column(sa.Integer, nullable=False, default=0)
    net = sa.Column(sa.BigInteger, nullable=False)
    tax = sa.Column(sa.BigInteger, nullable=False)
    gross = sa.Column(sa.BigInteger, nullable=False)

    invoice = relationship(Invoice, back_populates="lines")
    service = relationship("Service")


class Service(db.Model):
    """What the customer bought and has (or will have, once paid): a product on a billing cycle, its status
    and current period, the next due date, the recurring price (None: the catalogue's at renewal). Created
    pending by its order; activated exactly once when the order's invoice is paid."""

    __tablename__ = "billing_services"
    __table_args__ = (sa.Index("ix_billing_services_status_due", "status", "next_due_date"),)

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("billing_accounts.id"), nullable=False, index=True)
    order_id = sa.Column(sa.Integer, sa.ForeignKey("billing_orders.id"), index=True)
    order_item_id = sa.Column(sa.Integer, sa.ForeignKey("billing_order_items.id"))
    parent_id = sa.Column(sa.Integer, sa.ForeignKey("billing_services.id"))  # the package it came in
    product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id"), nullable=False)
    identifier = sa.Column(sa.String(200), nullable=False, default="")
    options = sa.Column(sa.JSON, nullable=False, default=list)
    cycle = sa.Column(sa.String(20), nullable=False)
    quantity = sa.Column(sa.Integer, nullable=False, default=1)
    currency = sa.Column(sa.String(3), nullable=False)
    recurring_amount = sa.Column(sa.BigInteger)  # unit price per cycle with options; None: look it up then
    includes_tax = sa.Column(sa.Boolean, nullable=False, default=False)
    status = sa.Column(sa.String(20), nullable=False, default=SERVICE_PENDING)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    activated_at = sa.Column(UTCDateTime)
    suspended_at = sa.Column(UTCDateTime)
    cancelled_at = sa.Column(UTCDateTime)
    period_start = sa.Column(sa.Date)
    period_end = sa.Column(sa.Date)  # exclusive: the day the next period starts
    next_due_date = sa.Column(sa.Date)  # None for one-off services

    account = relationship(BillingAccount)
    order = relationship(Order, back_populates="services")
    order_item = relationship(OrderItem)
    product = relationship("Product")
    parent = relationship("Service", remote_side=[id])
    periods = relationship("ServicePeriod", back_populates="service", order_by="ServicePeriod.period_start")


class ServicePeriod(db.Model):
    """A period of a service and the invoice that pays it: one row per (service, start), so a period is never
    invoiced twice (issue 17's renewals add theirs when they invoice them)."""

    __tablename__ = "billing_service_periods"
    __table_args__ = (sa.UniqueConstraint("service_id", "period_start"),)

    id = sa.Column(sa.Integer, primary_key=True)
    service_id = sa.Column(sa.Integer, sa.ForeignKey("billing_services.id"), nullable=False)
    period_start = sa.Column(sa.Date, nullable=False)
    period_end = sa.Column(sa.Date)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False, index=True)
    invoice_line_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoice_lines.id"))
    paid_at = sa.Column(UTCDateTime)

    service = relationship(Service, back_populates="periods")
    invoice = relationship(Invoice)


class Payment(db.Model):
    """Money received, once: unique on (source, external id), the key every door passes to record_payment.
    ``applied`` went to the invoice, ``credited`` (an overpayment) to the account's credit."""

    __tablename__ = "billing_payments"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),
                      sa.CheckConstraint("amount > 0", name="positive"))

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("billing_accounts.id"), nullable=False, index=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False, index=True)
    source = sa.Column(sa.String(40), nullable=False)
    external_id = sa.Column(sa.String(200), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    applied = sa.Column(sa.BigInteger, nullable=False, default=0)
    credited = sa.Column(sa.BigInteger, nullable=False, default=0)
    received_on = sa.Column(sa.Date, nullable=False)  # the value date
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    recorded_by_id = sa.Column(sa.Integer)  # no foreign key: like the audit trail's
    recorded_by_label = sa.Column(sa.String(300), nullable=False)
    attempt_id = sa.Column(sa.Integer, sa.ForeignKey("billing_payment_attempts.id"))
    note = sa.Column(sa.String(500), nullable=False, default="")

    invoice = relationship(Invoice)


class TransferBooking(db.Model):
    """A bank transfer as staff booked it from the statement (amount, value date, the bank's reference), counted
    at once or, above BILLING_TRANSFER_APPROVAL_ABOVE, once a second staff member approves it."""

    __tablename__ = "billing_transfer_bookings"

    id = sa.Column(sa.Integer, primary_key=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False, index=True)
    amount = sa.Column(sa.BigInteger, nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    value_date = sa.Column(sa.Date, nullable=False)
    bank_reference = sa.Column(sa.String(100), nullable=False, unique=True)
    status = sa.Column(sa.String(20), nullable=False)
    booked_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    booked_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    decided_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    decided_at = sa.Column(UTCDateTime)
    payment_id = sa.Column(sa.Integer, sa.ForeignKey("billing_payments.id"))

    invoice = relationship(Invoice)
    payment = relationship(Payment)


class PaymentProof(db.Model):
    """A customer's proof of a transfer (a bank receipt), stored like ticket attachments (helpdesk.storage)."""

    __tablename__ = "billing_payment_proofs"

    id = sa.Column(sa.Integer, primary_key=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False, index=True)
    uploaded_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    filename = sa.Column(sa.String(255), nullable=False)
    content_type = sa.Column(sa.String(100), nullable=False)
    size = sa.Column(sa.Integer, nullable=False)
    storage_key = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    invoice = relationship(Invoice)


class PaymentAttempt(db.Model):
    """One try at paying an invoice at a gateway. Amount and currency are copied from OUR invoice when it
    starts; adapters compare the provider's figures with these and never take the provider's as the truth."""

    __tablename__ = "billing_payment_attempts"
    __table_args__ = (sa.UniqueConstraint("gateway", "provider_reference"),)

    id = sa.Column(sa.Integer, primary_key=True)
    invoice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_invoices.id"), nullable=False, index=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("billing_accounts.id"), nullable=False)
    gateway = sa.Column(sa.String(40), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    status = sa.Column(sa.String(20), nullable=False, default=ATTEMPT_STARTED)
    provider_reference = sa.Column(sa.String(200))  # the provider's session or authority id
    failure = sa.Column(sa.String(500), nullable=False, default="")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    invoice = relationship(Invoice)


class BillingStaff(db.Model):
    """Agents who may change billing (book transfers, approve them, accept orders, edit the catalogue);
    admins always may. Other agents read billing only."""

    __tablename__ = "billing_staff"

    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                        autoincrement=False)
    granted_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    granted_by_id = sa.Column(sa.Integer)


# --------------------------------------------------------------------------- what is never changed

class FrozenRecord(RuntimeError):
    """A change to a record that must never change (a programming error, not a user's)."""


# What may still change on an invoice once it is final: it can be credited (status, and nothing else).
_FINAL_MAY_CHANGE = frozenset({"status", "lines", "account", "order", "credited_invoice"})


@sa.event.listens_for(Invoice, "before_update")
def _final_invoice_is_frozen(mapper, connection, target):
    state = sa.inspect(target)
    was = state.attrs.status.history.deleted
    if (was[0] if was else target.status) not in (FINAL, CREDITED):
        return
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()} - _FINAL_MAY_CHANGE
    if changed or target.status not in (FINAL, CREDITED):
        raise FrozenRecord(f"final invoice {target.number} cannot be edited ({', '.join(sorted(changed))})")


@sa.event.listens_for(InvoiceLine, "before_update")
def _invoice_lines_are_frozen(mapper, connection, target):
    raise FrozenRecord("invoice lines are never edited")


@sa.event.listens_for(CreditEntry, "before_update")
def _ledger_is_append_only(mapper, connection, target):
    raise FrozenRecord("credit ledger entries are never edited")


def _never_deleted(mapper, connection, target):
    raise FrozenRecord(f"{type(target).__name__} rows are never deleted")


for _model in (Invoice, InvoiceLine, CreditEntry, Payment):
    sa.event.listen(_model, "before_delete", _never_deleted)
