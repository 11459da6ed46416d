"""Bank transfers: the invoice's bank details and payment reference, the customer's proof of payment checked like a
ticket attachment, staff bookings counted at once or (above the configured amount) only after a second staff
member's approval, and the same transfer booked twice (even at the same moment) making one payment."""
from datetime import date

import pytest
import sqlalchemy as sa

from helpdesk import storage
from helpdesk.accounts.models import User
from helpdesk.billing import invoices, transfers
from helpdesk.billing.errors import AlreadyBooked, SecondApproverRequired
from helpdesk.billing.models import (
    BOOKING_AWAITING_APPROVAL,
    BOOKING_COUNTED,
    BOOKING_REJECTED,
    FINAL,
    PROFORMA,
    Payment,
    TransferBooking,
)
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from tests.integration.billing_shop import at_once, billing_app, build_shop, order


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, MAX_ATTACHMENT_BYTES=1024, BILLING_TRANSFER_APPROVAL_ABOVE={"EUR": 50_000},
                           BILLING_TRANSFER_BOOKING_TIME={"hu": "A banki utalásokat 4–8 órán belül könyveljük."})


@pytest.fixture
def shop(app):
    return build_shop()


def _payments():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Payment))


def test_the_invoice_page_gets_bank_details_reference_and_booking_time(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    told = transfers.transfer_instructions(shop.carla, invoice, "hu")
    assert told.iban == "DE89 3704 0044 0532 0130 00" and told.holder == "Example GmbH"
    assert told.payment_reference == invoice.payment_reference
    assert invoices.is_creditor_reference(told.payment_reference)
    assert told.amount == invoice.total and told.currency == "EUR"
    assert told.booking_notice == "A banki utalásokat 4–8 órán belül könyveljük."
    assert "business hours" in transfers.transfer_instructions(shop.carla, invoice, "en").booking_notice


def test_payment_references_are_unique_and_checkable(shop):
    references = {order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")[1].payment_reference
                  for _ in range(5)}
    assert len(references) == 5 and all(invoices.is_creditor_reference(r) for r in references)
    one = next(iter(references))
    assert not invoices.is_creditor_reference(one[:-1] + ("0" if one[-1] != "0" else "1"))  # a typo is caught


def test_proof_of_payment_is_stored_and_checked_like_an_attachment(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    proof = transfers.upload_proof(shop.carla, invoice, filename="../dekont.pdf", content_type="application/pdf",
                                   data=b"%PDF-1.4 dekont")
    assert proof.filename == "dekont.pdf" and storage.get(proof.storage_key) == b"%PDF-1.4 dekont"
    for name, data in (("receipt.exe", b"hello"), ("receipt.pdf", b"MZ\x90\x00"), ("empty.pdf", b""),
                       ("big.pdf", b"x" * 2048)):
        with pytest.raises(ValidationFailed):
            transfers.upload_proof(shop.carla, invoice, filename=name, content_type="application/pdf", data=data)
    assert [p.id for p in transfers.proofs_of(shop.carla, invoice)] == [proof.id]


def test_a_booking_under_the_threshold_counts_at_once(shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    booking = transfers.book_transfer(shop.admin, invoice, amount=invoice.total, value_date=date(2026, 11, 30),
                                      bank_reference="  TR-2026-0001 ")
    db.session.refresh(invoice)
    assert booking.status == BOOKING_COUNTED and booking.bank_reference == "TR-2026-0001"
    payment = db.session.get(Payment, booking.payment_id)
    assert (payment.source, payment.external_id, payment.received_on) == ("bank_transfer", "TR-2026-0001",
                                                                          date(2026, 11, 30))
    assert invoice.status == FINAL and placed.services[0].status == "active"


def test_a_large_booking_waits_for_a_second_staff_member(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.contract, cycle="biennial")
    assert invoice.total > 50_000
    booking = transfers.book_transfer(shop.admin, invoice, amount=invoice.total, value_date=date.today(),
                                      bank_reference="BIG-1")
    db.session.refresh(invoice)
    assert booking.status == BOOKING_AWAITING_APPROVAL and booking.payment_id is None
    assert invoice.status == PROFORMA and invoice.amount_paid == 0 and _payments() == 0
    assert transfers.bookings_awaiting_approval(shop.agent) == [booking]

    with pytest.raises(SecondApproverRequired):
        transfers.approve_booking(shop.admin, booking)  # the booker cannot approve their own booking
    assert _payments() == 0

    transfers.approve_booking(shop.admin2, booking)
    db.session.refresh(invoice)
    assert booking.status == BOOKING_COUNTED and booking.decided_by_id == shop.admin2.id
    assert invoice.status == FINAL and _payments() == 1
    transfers.approve_booking(shop.admin2, booking)  # approving again changes nothing
    assert _payments() == 1


def test_a_rejected_booking_never_counts(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.contract, cycle="biennial")
    booking = transfers.book_transfer(shop.admin, invoice, amount=invoice.total, value_date=date.today(),
                                      bank_reference="WRONG-1")
    transfers.reject_booking(shop.admin2, booking, reason="Different payer")
    assert booking.status == BOOKING_REJECTED
    with pytest.raises(Conflict):
        transfers.approve_booking(shop.admin2, booking)
    assert _payments() == 0


def test_the_same_transfer_booked_twice_is_one_payment_and_not_on_another_invoice(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    first = transfers.book_transfer(shop.admin, invoice, amount=500, value_date=date.today(), bank_reference="R-9")
    again = transfers.book_transfer(shop.admin2, invoice, amount=500, value_date=date.today(), bank_reference="R-9")
    assert again.id == first.id and _payments() == 1
    _other_order, other = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    with pytest.raises(AlreadyBooked):
        transfers.book_transfer(shop.admin, other, amount=500, value_date=date.today(), bank_reference="R-9")
    assert _payments() == 1


def test_booking_input_is_checked_all_at_once(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    with pytest.raises(ValidationFailed) as refused:
        transfers.book_transfer(shop.admin, invoice, amount=0, value_date="yesterday", bank_reference=" ")
    assert set(refused.value.errors) == {"amount", "value_date", "bank_reference"}


def test_two_staff_booking_the_same_transfer_at_once_make_one_payment(shop, app, backend):
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    invoice_id, total, staff = invoice.id, invoice.total, [shop.admin.id, shop.admin2.id]
    db.session.commit()

    def book(i):
        return transfers.book_transfer(db.session.get(User, staff[i]), invoice_id, amount=total,
                                       value_date=date.today(), bank_reference="SAME-REF").id

    results, errors = at_once(app, 2, book)

    assert errors == [] and len(set(results)) == 1
    db.session.expire_all()
    assert _payments() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TransferBooking)) == 1
    assert db.session.get(type(invoice), invoice_id).status == FINAL


def test_staff_find_the_invoice_a_statement_line_names(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    spaced = " ".join(invoice.payment_reference[i:i + 4] for i in range(0, len(invoice.payment_reference), 4))
    assert invoices.find_by_reference(shop.admin, spaced.lower()) == invoice
    assert invoices.find_by_reference(shop.admin, invoice.reference) == invoice
    assert invoices.find_by_reference(shop.bora, invoice.payment_reference) is None
