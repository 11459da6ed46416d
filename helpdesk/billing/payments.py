"""The one path every payment takes, whatever its source (bank transfer booked by staff, a gateway's verified event,
the credit balance, a manual entry): ``record_payment``.

It is idempotent on (source, external id): the invoice row is locked first, so calls with the same key for the same
invoice are serialised and the later ones find the first's payment and return it, changing nothing; a unique
constraint on (source, external id) backs this for any other case. It applies the amount to the invoice (partial
payments are kept), turns what exceeds the amount due into credit, makes the invoice final with its number when it
is covered, activates the order's services exactly once (the invoice's proforma → final step happens once, under
its lock) or applies the plan change an upgrade's invoice pays for, and writes an audit row for every movement. One
call, one transaction."""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from helpdesk import audit
from helpdesk.billing import plan_changes
from helpdesk.billing import services as billing_services
from helpdesk.billing.access import get_invoice, may_manage
from helpdesk.billing.credit import add_credit, spend_credit
from helpdesk.billing.customers import announce
from helpdesk.billing.errors import InvoiceNotPayable
from helpdesk.billing.invoices import assign_number, business_date, lock_invoice
from helpdesk.billing.models import (
    CREDIT_OVERPAYMENT,
    CREDIT_SPENT,
    KIND_INVOICE,
    PROFORMA,
    SOURCE_CREDIT,
    Payment,
)
from helpdesk.billing.money import MAX_AMOUNT
from helpdesk.db import commit_service_call, in_batch, utcnow
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

EXTERNAL_ID_MAX = 200


def _check(amount, currency, invoice, source, external_id, received_on):
    errors = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        errors["amount"] = _l("Enter an amount greater than zero.")
    if currency != invoice.currency:
        errors["currency"] = _l("The payment's currency must be the invoice's (%(currency)s).",
                                currency=invoice.currency)
    if not source or len(source) > 40:
        errors["source"] = _l("Unknown payment source.")
    if not external_id or len(external_id) > EXTERNAL_ID_MAX:
        errors["external_id"] = _l("Enter the payment's reference.")
    if received_on is not None and not isinstance(received_on, date):
        errors["received_on"] = _l("Enter a date.")
    if errors:
        raise ValidationFailed(errors)


def _authorise(actor, invoice_id, source):
    """Customers pay only their own invoices and only from credit (their other payments arrive through a gateway
    or the bank); staff record payments with the billing permission; the system (gateways, jobs) always."""
    if actor.is_system or may_manage(actor):
        return
    if actor.is_customer and source == SOURCE_CREDIT:
        get_invoice(actor, invoice_id)  # NotFound for someone else's
        return
    if actor.is_customer:
        get_invoice(actor, invoice_id)
    raise NotAllowed()


def find_payment(source: str, external_id: str) -> Payment | None:
    """The payment recorded under (source, external id), if any."""
    payment_id = db.session.scalar(sa.select(Payment.id).where(Payment.source == source,
                                                               Payment.external_id == external_id))
    return db.session.get(Payment, payment_id) if payment_id is not None else None


def record_payment(actor, *, invoice, amount: int, currency: str, source: str, external_id: str,
                   received_on: date | None = None, note: str = "", attempt=None) -> Payment:
    """Record ``amount`` (minor units of ``currency``, which must be the invoice's) received for ``invoice`` (a row
    or an id) from ``source`` ("bank_transfer", "credit", "manual" or a gateway's name) under the source's own id
    ``external_id`` (the bank's reference, the provider's payment id, a form token). Returns the Payment; a second
    call with the same (source, external id) returns the first one and changes nothing.

    Rules: a proforma takes what is due; anything beyond (or anything paid to an invoice that is already final or
    cancelled) becomes credit of the account in that currency. When the invoice is covered it becomes final with the
    next number of its series and the order's services are activated (unless staff hold the order). A "credit"
    payment spends the account's credit first and fails (InsufficientCredit) if the balance cannot cover it.
    ``attempt`` is the gateway's PaymentAttempt the payment settles. Commits (rolls back on any error)."""
    invoice_id = getattr(invoice, "id", invoice)
    _authorise(actor, invoice_id, source)
    external_id = str(external_id or "").strip()
    try:
        payment = apply_payment(actor, invoice_id, amount=amount, currency=currency, source=source,
                                external_id=external_id, received_on=received_on, note=note, attempt=attempt)
        commit_service_call(db.session)
        return payment
    except sa.exc.IntegrityError:
        # The key was taken by a transaction we could not see when we looked (another invoice's lock): theirs wins.
        db.session.rollback()
        existing = find_payment(source, external_id)
        if existing is None:
            raise
        return existing
    except Exception:
        if not in_batch(db.session):
            db.session.rollback()
        raise


def apply_payment(actor, invoice_id, *, amount, currency, source, external_id, received_on=None, note="",
                  attempt=None) -> Payment:
    """record_payment's work inside the caller's transaction, for a service that records a payment with rows of its
    own (a transfer booking): the same rules, no permission check, never commits."""
    return _record(actor, invoice_id, amount, currency, source, external_id, received_on, note, attempt)


def _record(actor, invoice_id, amount, currency, source, external_id, received_on, note, attempt):
    invoice = lock_invoice(invoice_id)  # first, always: it serialises every payment of this invoice
    # One flush for the payment (its unique key), one at the commit for the rest: the reads in between (the
    # order, its services, the counter) need nothing of ours written first.
    with db.session.no_autoflush:
        return _apply(actor, invoice, amount, currency, source, external_id, received_on, note, attempt)


def _apply(actor, invoice, amount, currency, source, external_id, received_on, note, attempt):
    if invoice.kind != KIND_INVOICE:
        existing = find_payment(source, external_id)
        if existing is not None:
            return existing
        raise InvoiceNotPayable()
    try:
        _check(amount, currency, invoice, source, external_id, received_on)
    except ValidationFailed:
        existing = find_payment(source, external_id)  # a repeat is answered with the first, whatever it says
        if existing is not None:
            return existing
        raise
    now = utcnow()
    applied = min(amount, invoice.balance_due)
    payment = _insert_once(account_id=invoice.account_id, invoice_id=invoice.id, source=source,
                           external_id=external_id, amount=amount, currency=currency, applied=applied,
                           credited=amount - applied, received_on=received_on or business_date(now), created_at=now,
                           recorded_by_id=getattr(actor, "id", None), recorded_by_label=actor.label,
                           attempt_id=getattr(attempt, "id", None), note=(note or "")[:500])
    if payment is None:  # this (source, external id) was recorded before: that payment, and nothing moves
        return find_payment(source, external_id)
    if source == SOURCE_CREDIT:
        if amount > applied:  # the invoice was paid meanwhile: spend only what it still took
            payment.amount, payment.credited = applied, 0
        if applied == 0:
            raise InvoiceNotPayable()
        spend_credit(actor, invoice.account_id, currency, applied, CREDIT_SPENT, payment=payment, invoice=invoice)
    invoice.amount_paid += applied
    audit.record(actor, "billing-payment", payment.id, "recorded",
                 {"invoice": invoice.id, "source": source, "amount": payment.amount, "currency": currency,
                  "applied": applied, "credited": payment.credited})
    announce("payment.recorded", invoice.account_id, {"payment": {
        "id": payment.id, "invoice": {"id": invoice.id, "reference": invoice.reference}, "source": source,
        "amount": {"amount": payment.amount, "currency": currency}, "applied": applied}}, key=f"invoice:{invoice.id}")
    if payment.credited:
        add_credit(actor, invoice.account_id, currency, payment.credited, CREDIT_OVERPAYMENT, payment=payment,
                   invoice=invoice)
    if invoice.status == PROFORMA and invoice.amount_paid >= invoice.total:
        settle(actor, invoice, now)
    return payment


def _insert_once(**values) -> Payment | None:
    """Write the payment unless its (source, external id) is taken (INSERT ... ON CONFLICT DO NOTHING, so a
    duplicate neither aborts the caller's transaction nor needs a look-up first): the new Payment, already in
    the session as the row it wrote, or None for a duplicate. A concurrent transaction holding the same key
    makes PostgreSQL wait for its outcome; SQLite's write lock serialises them anyway."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = Payment.__table__
    payment_id = db.session.connection().execute(insert(table).values(**values)
                                                 .on_conflict_do_nothing(index_elements=["source", "external_id"])
                                                 .returning(table.c.id)).scalar()
    if payment_id is None:
        return None
    payment = Payment(id=payment_id, **values)
    make_transient_to_detached(payment)  # every column is set: the session knows the row without reading it
    db.session.add(payment)
    return payment


def settle(actor, invoice, now):
    """A proforma just covered: activate its order's services (once: this runs under the invoice lock, at the one
    proforma → final step), then take the invoice number last, so the counter's lock is held the shortest time:
    everything else is written before it is taken, and it is held until the commit."""
    if invoice.order is not None:
        billing_services.activate_order(actor, invoice.order, invoice, now)
    else:  # a renewal's invoice (issue 17): the service runs on, and an overdue suspension for it is lifted
        billing_services.extend_paid_periods(actor, invoice, now)
        plan_changes.apply_paid_change(actor, invoice, now)  # an upgrade's invoice: the new plan takes effect
    db.session.flush()
    assign_number(invoice, actor, now)


def payments_of(actor, invoice) -> list[Payment]:
    """The payments of an invoice ``actor`` may see (partial ones too), oldest first."""
    invoice = get_invoice(actor, getattr(invoice, "id", invoice))
    if invoice is None:
        raise NotFound()
    return db.session.scalars(sa.select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.id)).all()
