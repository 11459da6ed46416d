"""Invoices: a proforma (a reference, no legal number) made for an order or a renewal, frozen with the buyer's and
seller's details, its lines, taxes and currency; final once paid in full, when it takes the next number of its
series under the series counter's row lock in the payment's own transaction (gapless, never reused); cancelled
only by a credit note of the credit-note series. Also the reads the invoice pages need."""
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from helpdesk import audit
from helpdesk.billing import money
from helpdesk.billing.access import require_manager, visible
from helpdesk.billing.customers import announce_invoice
from helpdesk.billing.errors import FinalInvoice
from helpdesk.billing.models import (
    CANCELLED,
    CREDIT_REFUND,
    CREDITED,
    FINAL,
    KIND_CREDIT_NOTE,
    KIND_INVOICE,
    PROFORMA,
    SERVICE_CANCELLED,
    Invoice,
    InvoiceLine,
)
from helpdesk.billing.taxes import tax_note
from helpdesk.db import begin_write, commit_service_call, in_batch, next_value, utcnow
from helpdesk.errors import Conflict
from helpdesk.extensions import db

# Crockford's base 32: no I, L, O or U to misread when a reference is typed from a statement.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 10


def business_date(moment: datetime) -> date:
    """The calendar date of ``moment`` where the business is (BUSINESS_TIMEZONE): invoice dates and periods."""
    return moment.astimezone(ZoneInfo(current_app.config.get("BUSINESS_TIMEZONE") or "UTC")).date()


def new_reference() -> str:
    """A random reference (10 characters of Crockford's base 32) naming a proforma before it has a number."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(REFERENCE_LENGTH))


def creditor_reference(reference: str) -> str:
    """The ISO 11649 structured creditor reference ("RF" and two check digits) of ``reference``: the payment
    reference a customer quotes on a transfer, which banks check for typing mistakes."""
    digits = "".join(str(int(c, 36)) for c in reference.upper() + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{reference.upper()}"


def is_creditor_reference(text: str) -> bool:
    text = "".join(str(text or "").split()).upper()
    if not (text.startswith("RF") and 5 <= len(text) <= 25 and text.isalnum()):
        return False
    digits = "".join(str(int(c, 36)) for c in text[4:] + text[:4])
    return int(digits) % 97 == 1


def _buyer(account) -> dict:
    return {"buyer_name": account.name or account.user.display_name, "buyer_address": account.address,
            "buyer_country": account.country, "buyer_customer_type": account.customer_type,
            "buyer_tax_number": account.tax_number, "buyer_tax_office": account.tax_office,
            "buyer_email": account.user.email}


def create_proforma(account, quote, *, order=None, services=(), now=None) -> Invoice:
    """A proforma invoice for ``quote`` (pricing.Quote) to ``account``, frozen: the buyer's details as they are
    now, BILLING_SELLER, the lines and their taxes, the currency and language. Never commits (the caller's
    transaction: an order, a renewal). ``services`` are the Service rows of the quote's services, in its order:
    each line is linked to the service it pays."""
    now = now or utcnow()
    reference = new_reference()
    totals = quote.totals
    invoice = Invoice(
        account=account, order=order, kind=KIND_INVOICE, status=PROFORMA, reference=reference,
        payment_reference=creditor_reference(reference), series=KIND_INVOICE, currency=quote.currency,
        language=quote.language, net_total=totals.net, tax_total=totals.tax, total=totals.gross, amount_paid=0,
        reverse_charge=quote.tax.reverse_charge, tax_note=tax_note(quote.tax, quote.language),
        seller=dict(current_app.config["BILLING_SELLER"]), created_at=now,
        due_date=business_date(now) + timedelta(days=current_app.config["BILLING_PAYMENT_TERM_DAYS"]),
        **_buyer(account))
    invoice.lines = [InvoiceLine(position=position, description=line.description, product_id=line.product_id,
                                 cycle=line.cycle, quantity=line.quantity, unit_price=line.unit_price,
                                 includes_tax=line.includes_tax, tax_name=line.tax_name, tax_rate_bp=line.tax_rate_bp,
                                 net=line.net, tax=line.tax, gross=line.gross,
                                 service=services[line.service] if line.service is not None and services else None)
                     for position, line in enumerate(quote.lines, start=1)]
    db.session.add(invoice)
    return invoice


def _counter_name(series: str, year: int | None) -> str:
    return f"billing-invoice:{series}:{year}" if year is not None else f"billing-invoice:{series}"


def assign_number(invoice: Invoice, actor, now=None) -> Invoice:
    """Make ``invoice`` final with the next number of its series: the counter row is bumped (UPDATE ... RETURNING,
    which locks it until the caller commits), so numbers follow commit order, a rolled-back payment gives its number
    back with everything else, and none is used twice (the number column is unique too). Never commits.

    Everything else the transaction changed is written first; after the bump come just two statements, the invoice's
    UPDATE and its audit row, written directly rather than by a flush at the commit, so the counter every payment
    waits for is held from the bump to the commit and no longer (the invoice object is told what was written)."""
    now = now or utcnow()
    issue_date = business_date(now)
    year = issue_date.year if current_app.config["BILLING_NUMBER_YEARLY_RESET"] else None
    if in_batch(db.session):  # a caller's batch writes rows its own way: leave the invoice to it
        return _assign_number_in_session(invoice, actor, now, issue_date, year)
    db.session.flush()
    sequence = next_value(db.session, _counter_name(invoice.series, year), 1)
    values = {"year": year, "sequence": sequence, "status": FINAL, "finalised_at": now, "issue_date": issue_date,
              "number": current_app.config["BILLING_NUMBER_FORMATS"][invoice.series].format(
                  year=issue_date.year, sequence=sequence)}
    table = Invoice.__table__
    db.session.connection().execute(sa.update(table).where(table.c.id == invoice.id).values(**values))
    for key, value in values.items():
        set_committed_value(invoice, key, value)
    audit.record_now(actor, "billing-invoice", invoice.id, "finalised" if invoice.kind == KIND_INVOICE else "issued",
                     {"number": invoice.number, "reference": invoice.reference})
    if invoice.kind == KIND_INVOICE:
        announce_invoice(invoice)
    return invoice


def _assign_number_in_session(invoice, actor, now, issue_date, year):
    sequence = next_value(db.session, _counter_name(invoice.series, year), 1)
    invoice.year, invoice.sequence = year, sequence
    invoice.number = current_app.config["BILLING_NUMBER_FORMATS"][invoice.series].format(
        year=issue_date.year, sequence=sequence)
    invoice.status, invoice.finalised_at, invoice.issue_date = FINAL, now, issue_date
    audit.record(actor, "billing-invoice", invoice.id, "finalised" if invoice.kind == KIND_INVOICE else "issued",
                 {"number": invoice.number, "reference": invoice.reference})
    if invoice.kind == KIND_INVOICE:
        announce_invoice(invoice)
    return invoice


def lock_invoice(invoice_id) -> Invoice:
    """The invoice row, locked for the rest of the transaction (SELECT ... FOR UPDATE; SQLite's write lock is
    already held by begin_write) and re-read. Every change of an invoice's money starts here: invoice, then
    credit balance, then the number counter, in that order, so two transactions never wait for each other."""
    begin_write(db.session)
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.id == invoice_id)
                                .options(joinedload(Invoice.order)).with_for_update(of=Invoice)
                                .execution_options(populate_existing=True))
    if invoice is None:
        from helpdesk.errors import NotFound

        raise NotFound()
    return invoice


def cancel_proforma(actor, invoice: Invoice, now) -> int:
    """Cancel an unpaid or part-paid proforma (its order was cancelled): what was paid goes to the account's credit.
    Returns that amount. The caller holds the invoice lock; never commits."""
    from helpdesk.billing.credit import add_credit

    if invoice.status != PROFORMA:
        raise FinalInvoice() if invoice.is_final else Conflict()
    invoice.status, invoice.cancelled_at = CANCELLED, now
    paid = invoice.amount_paid
    if paid:
        add_credit(actor, invoice.account_id, invoice.currency, paid, CREDIT_REFUND, invoice=invoice)
    audit.record(actor, "billing-invoice", invoice.id, "cancelled", {"refunded_to_credit": paid})
    return paid


def credit_invoice(actor, invoice: Invoice, *, reason: str = "") -> Invoice:
    """Cancel a final invoice with a credit note of the credit-note series: the same buyer, seller, currency and
    language, every line negated, numbered at once. What was paid goes to the account's credit; the services the
    invoice paid for are cancelled. Billing staff. Commits; returns the credit note."""
    require_manager(actor)
    from helpdesk.billing.credit import add_credit

    invoice = lock_invoice(invoice.id)
    if invoice.kind != KIND_INVOICE or invoice.status != FINAL:
        raise Conflict() if invoice.status != CREDITED else FinalInvoice()
    now = utcnow()
    reference = new_reference()
    copied = {column: getattr(invoice, column) for column in (
        "account_id", "order_id", "currency", "language", "reverse_charge", "tax_note", "buyer_name", "buyer_address",
        "buyer_country", "buyer_customer_type", "buyer_tax_number", "buyer_tax_office", "buyer_email", "seller")}
    note = Invoice(kind=KIND_CREDIT_NOTE, status=PROFORMA, reference=reference,
                   payment_reference=creditor_reference(reference), series=KIND_CREDIT_NOTE,
                   net_total=-invoice.net_total, tax_total=-invoice.tax_total, total=-invoice.total, amount_paid=0,
                   created_at=now, credited_invoice_id=invoice.id, **copied)
    note.lines = [InvoiceLine(position=line.position, description=line.description, product_id=line.product_id,
                              service_id=line.service_id, cycle=line.cycle, quantity=line.quantity,
                              unit_price=-line.unit_price, includes_tax=line.includes_tax, tax_name=line.tax_name,
                              tax_rate_bp=line.tax_rate_bp, net=-line.net, tax=-line.tax, gross=-line.gross)
                  for line in invoice.lines]
    db.session.add(note)
    db.session.flush()
    invoice.status = CREDITED
    if invoice.amount_paid:
        add_credit(actor, invoice.account_id, invoice.currency, invoice.amount_paid, CREDIT_REFUND, invoice=note,
                   note=reason)
    _cancel_paid_services(actor, invoice, now)
    audit.record(actor, "billing-invoice", invoice.id, "credited", {"reason": reason[:500]})
    assign_number(note, actor, now)
    commit_service_call(db.session)
    return note


def _cancel_paid_services(actor, invoice, now):
    from helpdesk.billing.models import Service

    ids = {line.service_id for line in invoice.lines if line.service_id}
    for service in db.session.scalars(sa.select(Service).where(Service.id.in_(ids))) if ids else ():
        if service.status != SERVICE_CANCELLED:
            service.status, service.cancelled_at, service.next_due_date = SERVICE_CANCELLED, now, None
            audit.record(actor, "billing-service", service.id, "cancelled", {"invoice": invoice.id})


# --------------------------------------------------------------------------- reading

def totals_by_rate(invoice: Invoice) -> money.Totals:
    """The invoice's totals and its tax per (name, rate), summed from its lines (they equal the stored totals)."""
    return money.sum_lines(invoice.lines)


UNPAID, PAID = "unpaid", "paid"


def invoices_of(actor, account_id=None, *, state=None, before_id=None, limit=50):
    """A page of invoices ``actor`` may see, newest first: of one account (``account_id``; a customer's own
    by default), ``state`` "unpaid" (proformas) or "paid" (final, credited, credit notes), keyset-paged by id."""
    query = visible(actor, Invoice).where(Invoice.status != CANCELLED)
    if account_id is not None:
        query = query.where(Invoice.account_id == account_id)
    if state == UNPAID:
        query = query.where(Invoice.status == PROFORMA)
    elif state == PAID:
        query = query.where(Invoice.status.in_((FINAL, CREDITED)))
    if before_id is not None:
        query = query.where(Invoice.id < before_id)
    return db.session.scalars(query.order_by(Invoice.id.desc()).limit(limit)).all()


def find_by_reference(actor, text: str) -> Invoice | None:
    """The invoice a customer's transfer names (its payment reference, spaces and case as typed on a statement,
    its reference or its number), if ``actor`` may see it: what staff look up before booking a transfer."""
    key = "".join(str(text or "").split()).upper()
    if not key:
        return None
    query = visible(actor, Invoice).where(sa.or_(Invoice.payment_reference == key, Invoice.reference == key,
                                                 Invoice.number == str(text).strip()))
    return db.session.scalars(query.limit(1)).first()


def create_charge_invoice(actor, account, lines, *, currency: str, now=None) -> Invoice:
    """A proforma for one-off charges another package makes (a pay-per-case service case, issue 19) to billing
    account ``account``: ``lines`` are (description, amount) pairs, each amount what the customer pays in
    ``currency``'s minor unit, tax included at the account's rate (taken out of it, as for gross prices); the
    descriptions (lazy strings welcome) are written in the account's language. Billing staff or the system only.
    Audited; never commits (the caller's transaction)."""
    from flask_babel import force_locale

    from helpdesk.billing.catalogue import default_language
    from helpdesk.billing.catalogue_models import ONE_OFF
    from helpdesk.billing.pricing import DraftLine, Quote
    from helpdesk.billing.taxes import decide

    require_manager(actor)
    if currency not in money.CURRENCIES or not lines:
        raise ValueError("a charge invoice needs lines in a known currency")
    tax = decide(account, current_app.config["BILLING_SELLER"])
    language = getattr(account.user, "locale", None) or default_language()
    drafts = []
    with force_locale(language):
        for description, amount in lines:
            if not isinstance(amount, int) or not 0 < amount <= money.MAX_AMOUNT:
                raise ValueError("a charge is a positive int amount in minor units")
            figures = money.line_amounts(amount, 1, tax.rate_bp, True, tax.home_rate_bp if tax.reverse_charge
                                         else None)
            drafts.append(DraftLine(description=str(description), product_id=None, cycle=ONE_OFF, quantity=1,
                                    unit_price=amount, includes_tax=True, tax_name=tax.name if tax.rate_bp else "",
                                    tax_rate_bp=tax.rate_bp, net=figures.net, tax=figures.tax, gross=figures.gross))
    invoice = create_proforma(account, Quote(currency=currency, language=language, tax=tax, lines=drafts,
                                             services=[], items=[]), now=now)
    db.session.flush()
    audit.record(actor, "billing-invoice", invoice.id, "charge-invoiced",
                 {"reference": invoice.reference, "amount": invoice.total, "currency": currency})
    return invoice
