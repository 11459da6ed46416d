"""Bank transfers: what the invoice page shows (the bank account for the invoice's currency from
BILLING_BANK_ACCOUNTS, the invoice's payment reference, how soon bookings are made), the customer's proof of payment
(stored and checked like ticket attachments), and staff bookings from the bank statement: counted at once, or above
BILLING_TRANSFER_APPROVAL_ABOVE only once a second staff member approves (four eyes). A booking becomes a payment
through payments.record_payment (source "bank_transfer", external id the bank's reference), so the same transfer
booked twice, even at the same moment, is one payment."""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk import audit, storage, uploads
from helpdesk.billing.access import get_invoice, require_manager, require_reader
from helpdesk.billing.errors import AlreadyBooked, InvoiceNotPayable, SecondApproverRequired
from helpdesk.billing.invoices import lock_invoice
from helpdesk.billing.models import (
    BOOKING_AWAITING_APPROVAL,
    BOOKING_COUNTED,
    BOOKING_REJECTED,
    KIND_INVOICE,
    SOURCE_BANK_TRANSFER,
    PaymentProof,
    TransferBooking,
)
from helpdesk.billing.money import MAX_AMOUNT
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name, strip_control

BANK_REFERENCE_MAX = 100


@dataclass(frozen=True)
class TransferInstructions:
    """What a customer needs to pay an invoice by transfer."""

    holder: str
    bank: str
    iban: str
    bic: str
    payment_reference: str
    amount: int
    currency: str
    booking_notice: str


def bank_account_for(currency: str) -> dict | None:
    """The bank account (iban, bic, bank, holder) transfers in ``currency`` go to; None when there is none."""
    return current_app.config["BILLING_BANK_ACCOUNTS"].get(currency)


def booking_notice(language: str) -> str:
    """How soon transfers are booked, in ``language``: BILLING_TRANSFER_BOOKING_TIME's words for it, else ours."""
    configured = current_app.config["BILLING_TRANSFER_BOOKING_TIME"].get(language)
    if configured:
        return configured
    with force_locale(language):
        return _("Transfers are booked by hand during business hours; your order becomes active once the payment "
                 "is booked.")


def transfer_instructions(actor, invoice, language: str) -> TransferInstructions | None:
    """The bank details, payment reference and amount due for paying ``invoice`` by transfer (``actor`` must be
    allowed to see it), the booking notice in ``language``; None when nothing is due or no account takes the
    currency."""
    invoice = get_invoice(actor, getattr(invoice, "id", invoice))
    account = bank_account_for(invoice.currency)
    if account is None or invoice.balance_due <= 0:
        return None
    return TransferInstructions(holder=account.get("holder", ""), bank=account.get("bank", ""),
                                iban=account.get("iban", ""), bic=account.get("bic", ""),
                                payment_reference=invoice.payment_reference, amount=invoice.balance_due,
                                currency=invoice.currency, booking_notice=booking_notice(language))


# --------------------------------------------------------------------------- proofs of payment

def upload_proof(actor, invoice, *, filename: str, content_type: str, data: bytes) -> PaymentProof:
    """Keep a customer's proof of payment (a bank receipt) with ``invoice``: checked like a ticket attachment (no
    programs by name or content, not empty, at most MAX_ATTACHMENT_BYTES), stored by helpdesk.storage. The
    invoice's customer or staff; NotFound for another's invoice. Commits."""
    invoice = get_invoice(actor, getattr(invoice, "id", invoice))
    name = uploads.clean_filename(filename, default="proof")
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    if uploads.is_program(name, data, current_app.config["PORTAL_BLOCKED_EXTENSIONS"]):
        raise ValidationFailed({"proof": _l("%(name)s: programs and scripts cannot be attached.", name=name)})
    if not data:
        raise ValidationFailed({"proof": _l("%(name)s is empty.", name=name)})
    if len(data) > limit:
        raise ValidationFailed({"proof": _l("%(name)s is larger than the limit of %(size)s MB.", name=name,
                                            size=limit // (1024 * 1024))})
    key, size = storage.put(data)
    begin_write(db.session)
    proof = PaymentProof(invoice_id=invoice.id, uploaded_by_id=getattr(actor, "id", None), filename=name,
                         content_type=clean_name(content_type or "", limit=100) or "application/octet-stream",
                         size=size, storage_key=key)
    db.session.add(proof)
    audit.record(actor, "billing-invoice", invoice.id, "proof-uploaded", {"proof": proof, "filename": name})
    commit_service_call(db.session)
    return proof


def proofs_of(actor, invoice) -> list[PaymentProof]:
    invoice = get_invoice(actor, getattr(invoice, "id", invoice))
    return db.session.scalars(sa.select(PaymentProof).where(PaymentProof.invoice_id == invoice.id)
                              .order_by(PaymentProof.id)).all()


def proof_bytes(proof: PaymentProof) -> bytes:
    """The stored file of a proof the caller got through access.get_proof."""
    return storage.get(proof.storage_key)


# --------------------------------------------------------------------------- staff bookings

def _check_booking(invoice, amount, value_date, bank_reference):
    errors = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        errors["amount"] = _l("Enter an amount greater than zero.")
    if not isinstance(value_date, date):
        errors["value_date"] = _l("Enter the value date.")
    elif value_date > date.today().replace(year=date.today().year + 1):
        errors["value_date"] = _l("The value date is too far in the future.")
    reference = " ".join(strip_control(bank_reference or "").split())
    if not reference or len(reference) > BANK_REFERENCE_MAX:
        errors["bank_reference"] = _l("Enter the bank's reference of the transfer (at most %(num)d characters).",
                                      num=BANK_REFERENCE_MAX)
    if errors:
        raise ValidationFailed(errors)
    return reference


def needs_approval(amount: int, currency: str) -> bool:
    """Whether a booking of ``amount`` needs a second staff member (BILLING_TRANSFER_APPROVAL_ABOVE)."""
    threshold = current_app.config["BILLING_TRANSFER_APPROVAL_ABOVE"].get(currency)
    return threshold is not None and amount > threshold


def book_transfer(actor, invoice, *, amount: int, value_date: date, bank_reference: str) -> TransferBooking:
    """Staff book a transfer from the statement onto ``invoice`` (amount in the invoice's currency, value date, the
    bank's reference). Up to the approval threshold it counts at once (a payment through record_payment); above, it
    waits for ``approve_booking`` by another staff member. The same bank reference booked again on the same invoice
    returns the first booking (no second payment); on another invoice it is refused (AlreadyBooked). Billing staff.
    Commits."""
    require_manager(actor)
    invoice_id = getattr(invoice, "id", invoice)
    try:
        booking = _book(actor, invoice_id, amount, value_date, bank_reference)
        if booking.status == BOOKING_COUNTED and booking.payment_id is None:
            _count(actor, booking)
        commit_service_call(db.session)
        return booking
    except sa.exc.IntegrityError:
        db.session.rollback()  # booked at the same moment by someone we could not see yet
        existing = db.session.scalar(sa.select(TransferBooking).where(
            TransferBooking.bank_reference == " ".join(strip_control(bank_reference or "").split())))
        if existing is None:
            raise
        if existing.invoice_id != invoice_id:
            raise AlreadyBooked() from None
        return existing
    except Exception:
        db.session.rollback()
        raise


def _book(actor, invoice_id, amount, value_date, bank_reference):
    invoice = lock_invoice(invoice_id)  # serialises bookings of this invoice, as payments are
    reference = _check_booking(invoice, amount, value_date, bank_reference)
    existing = db.session.scalar(sa.select(TransferBooking).where(TransferBooking.bank_reference == reference))
    if existing is not None:
        if existing.invoice_id != invoice.id:
            raise AlreadyBooked()
        return existing
    if invoice.kind != KIND_INVOICE:
        raise InvoiceNotPayable()
    status = BOOKING_AWAITING_APPROVAL if needs_approval(amount, invoice.currency) else BOOKING_COUNTED
    booking = TransferBooking(invoice_id=invoice.id, amount=amount, currency=invoice.currency, value_date=value_date,
                              bank_reference=reference, status=status, booked_by_id=getattr(actor, "id", None))
    db.session.add(booking)
    db.session.flush()
    audit.record(actor, "billing-invoice", invoice.id, "transfer-booked",
                 {"booking": booking.id, "amount": amount, "currency": invoice.currency,
                  "bank_reference": reference, "awaiting_approval": status == BOOKING_AWAITING_APPROVAL})
    return booking


def _count(actor, booking):
    """Make a counted booking's payment in the booking's own transaction (payments.apply_payment, record_payment's
    path without its commit)."""
    from helpdesk.billing.payments import apply_payment

    payment = apply_payment(actor, booking.invoice_id, amount=booking.amount, currency=booking.currency,
                            source=SOURCE_BANK_TRANSFER, external_id=booking.bank_reference,
                            received_on=booking.value_date, note=f"booking {booking.id}")
    booking.payment_id = payment.id


def approve_booking(actor, booking: TransferBooking) -> TransferBooking:
    """A second staff member approves a booking that awaited approval: it counts now (a payment through
    record_payment). The staff member who booked it may not (SecondApproverRequired). Billing staff. Commits."""
    require_manager(actor)
    try:
        _decide(actor, booking, BOOKING_COUNTED)
        if booking.payment_id is None:
            _count(actor, booking)
        commit_service_call(db.session)
    except Exception:
        db.session.rollback()
        raise
    return booking


def reject_booking(actor, booking: TransferBooking, *, reason: str = "") -> TransferBooking:
    """A second staff member rejects a booking awaiting approval (a wrong invoice, a wrong amount): it never counts;
    the bank reference stays taken. Billing staff other than the booker. Commits."""
    require_manager(actor)
    try:
        _decide(actor, booking, BOOKING_REJECTED, reason)
        commit_service_call(db.session)
    except Exception:
        db.session.rollback()
        raise
    return booking


def _decide(actor, booking, status, reason=""):
    lock_invoice(booking.invoice_id)
    db.session.refresh(booking, with_for_update=True)
    if booking.status == status:
        return  # decided so already (a double click, two approvers at once)
    if booking.status != BOOKING_AWAITING_APPROVAL:
        raise Conflict()
    if actor.is_system or booking.booked_by_id == getattr(actor, "id", None):
        raise SecondApproverRequired()
    booking.status, booking.decided_by_id, booking.decided_at = status, getattr(actor, "id", None), utcnow()
    audit.record(actor, "billing-invoice", booking.invoice_id,
                 "transfer-approved" if status == BOOKING_COUNTED else "transfer-rejected",
                 {"booking": booking.id, "amount": booking.amount, "currency": booking.currency,
                  "reason": (reason or "")[:500]})


def bookings_awaiting_approval(actor, limit=100) -> list[TransferBooking]:
    """Bookings waiting for a second staff member, oldest first (the console's approval list; staff)."""
    require_reader(actor)
    return db.session.scalars(sa.select(TransferBooking).where(TransferBooking.status == BOOKING_AWAITING_APPROVAL)
                              .order_by(TransferBooking.id).limit(limit)).all()
