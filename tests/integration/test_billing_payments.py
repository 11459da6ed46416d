"""record_payment, the one path of every payment: idempotent on (source, external id), partial payments kept,
overpayment to credit, the proforma made final with the next number of its series (gapless, never reused, under a
lock), the order's services activated exactly once, an audit row per movement; final invoices are never edited and
are cancelled by a credit note. On PostgreSQL with real concurrency."""
from datetime import date

import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import User
from helpdesk.actors import SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.billing import credit, invoices, orders, payments
from helpdesk.billing.errors import FinalInvoice
from helpdesk.billing.models import (
    CANCELLED,
    CREDITED,
    FINAL,
    KIND_CREDIT_NOTE,
    PROFORMA,
    SERVICE_ACTIVE,
    SERVICE_CANCELLED,
    SERVICE_PENDING,
    FrozenRecord,
    Invoice,
    Payment,
    Service,
    ServicePeriod,
)
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from tests.integration.billing_shop import at_once, billing_app, build_shop, order


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def shop(app):
    return build_shop()


def _activations(service_ids):
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.entity == "billing-service", AuditEvent.action == "activated",
        AuditEvent.entity_id.in_(service_ids)))


def test_full_payment_makes_the_proforma_final_and_activates_the_services(shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web, identifier="carla.example")
    assert invoice.status == PROFORMA and invoice.number is None and invoice.reference
    assert [s.status for s in placed.services] == [SERVICE_PENDING]

    payment = payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR",
                                      source="manual", external_id="M-1")

    db.session.refresh(invoice)
    year = date.today().year
    assert invoice.status == FINAL and invoice.number == f"{year}-000001" and invoice.amount_paid == invoice.total
    service = placed.services[0]
    assert service.status == SERVICE_ACTIVE and service.next_due_date == service.period_end
    assert service.period_end.month != service.period_start.month  # a monthly cycle
    period = db.session.scalar(sa.select(ServicePeriod).where(ServicePeriod.service_id == service.id))
    assert period.invoice_id == invoice.id and period.period_start == service.period_start
    assert payment.applied == invoice.total and payment.credited == 0
    assert placed.status == "active"


def test_the_same_payment_twice_is_one_payment(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    first = payments.record_payment(SYSTEM, invoice=invoice, amount=500, currency="EUR", source="manual",
                                    external_id="M-7")
    again = payments.record_payment(SYSTEM, invoice=invoice, amount=500, currency="EUR", source="manual",
                                    external_id="M-7")

    assert again.id == first.id
    db.session.refresh(invoice)
    assert invoice.amount_paid == 500 and invoice.status == PROFORMA
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


def test_partial_payments_are_kept_and_the_last_one_finalises(shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    total = invoice.total
    payments.record_payment(SYSTEM, invoice=invoice, amount=1000, currency="EUR", source="manual", external_id="a")
    db.session.refresh(invoice)
    assert invoice.status == PROFORMA and invoice.amount_paid == 1000 and invoice.balance_due == total - 1000
    assert placed.services[0].status == SERVICE_PENDING

    payments.record_payment(SYSTEM, invoice=invoice, amount=total - 1000, currency="EUR", source="manual",
                            external_id="b")
    db.session.refresh(invoice)
    assert invoice.status == FINAL and invoice.balance_due == 0
    assert [p.amount for p in payments.payments_of(shop.carla, invoice)] == [1000, total - 1000]


def test_overpayment_becomes_credit_and_a_payment_to_a_paid_invoice_is_all_credit(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payment = payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total + 250, currency="EUR",
                                      source="manual", external_id="over")
    assert (payment.applied, payment.credited) == (invoice.total, 250)
    late = payments.record_payment(SYSTEM, invoice=invoice, amount=400, currency="EUR", source="manual",
                                   external_id="late")
    assert (late.applied, late.credited) == (0, 400)
    assert credit.balance(shop.carla_account.id, "EUR") == 650
    assert [e.amount for e in credit.ledger(shop.carla, shop.carla_account.id)] == [400, 250]


def test_payment_in_another_currency_or_of_nothing_is_refused_and_changes_nothing(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    with pytest.raises(ValidationFailed) as refused:
        payments.record_payment(SYSTEM, invoice=invoice, amount=100, currency="TRY", source="manual", external_id="x")
    assert "currency" in refused.value.errors
    with pytest.raises(ValidationFailed):
        payments.record_payment(SYSTEM, invoice=invoice, amount=0, currency="EUR", source="manual", external_id="y")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_agents_without_the_billing_permission_cannot_record_payments(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    with pytest.raises(NotAllowed):
        payments.record_payment(shop.agent, invoice=invoice, amount=100, currency="EUR", source="manual",
                                external_id="agent")
    from helpdesk.billing.access import grant_billing

    grant_billing(shop.admin, shop.agent)
    payment = payments.record_payment(shop.agent, invoice=invoice, amount=100, currency="EUR", source="manual",
                                      external_id="agent")
    assert payment.recorded_by_id == shop.agent.id


def test_every_money_movement_leaves_an_audit_row(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payment = payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total + 1, currency="EUR",
                                      source="manual", external_id="audit")
    rows = db.session.execute(sa.select(AuditEvent.entity, AuditEvent.action, AuditEvent.entity_id)).all()
    assert ("billing-payment", "recorded", payment.id) in rows
    assert ("billing-account", "credit-added", shop.carla_account.id) in rows
    assert ("billing-invoice", "finalised", invoice.id) in rows


def test_held_order_takes_the_payment_and_activates_when_accepted(shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    orders.hold_order(shop.admin, placed, note="Check the identity first")
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="held")
    db.session.refresh(invoice)
    assert invoice.status == FINAL and placed.status == "on_hold"
    assert placed.services[0].status == SERVICE_PENDING

    orders.accept_order(shop.admin, placed)
    orders.accept_order(shop.admin2, placed)  # a second accept activates nothing again
    assert placed.status == "active" and placed.services[0].status == SERVICE_ACTIVE
    assert _activations([placed.services[0].id]) == 1


def test_cancelling_a_part_paid_order_gives_the_payment_back_as_credit(shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payments.record_payment(SYSTEM, invoice=invoice, amount=300, currency="EUR", source="manual", external_id="p")
    orders.cancel_order(shop.admin, placed, note="Customer asked")
    db.session.refresh(invoice)
    assert invoice.status == CANCELLED and invoice.number is None
    assert placed.services[0].status == SERVICE_CANCELLED
    assert credit.balance(shop.carla_account.id, "EUR") == 300


def test_a_paid_order_cannot_be_cancelled_its_invoice_is_credited_instead(shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="paid")
    with pytest.raises(FinalInvoice):
        orders.cancel_order(shop.admin, placed)

    note = invoices.credit_invoice(shop.admin, invoice, reason="Ordered by mistake")

    db.session.refresh(invoice)
    assert invoice.status == CREDITED
    assert note.kind == KIND_CREDIT_NOTE and note.number == f"CN-{date.today().year}-000001"
    assert note.total == -invoice.total
    assert [line.gross for line in note.lines] == [-line.gross for line in invoice.lines]
    assert (note.buyer_name, note.currency, note.seller) == (invoice.buyer_name, invoice.currency, invoice.seller)
    assert placed.services[0].status == SERVICE_CANCELLED
    assert credit.balance(shop.carla_account.id, "EUR") == invoice.total


def test_a_final_invoice_is_never_edited_nor_deleted(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="frozen")
    invoice.buyer_name = "Someone else"
    with pytest.raises(FrozenRecord):
        db.session.flush()
    db.session.rollback()
    invoice.lines[0].description = "Changed"
    with pytest.raises(FrozenRecord):
        db.session.flush()
    db.session.rollback()
    db.session.delete(invoice)
    with pytest.raises(FrozenRecord):
        db.session.flush()
    db.session.rollback()


def test_the_invoice_freezes_buyer_and_seller_as_they_were(shop):
    from helpdesk.billing import customers

    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    customers.update_details(shop.carla, shop.carla_account, name="Carla Neu", address="Elsewhere 1")
    db.session.refresh(invoice)
    assert invoice.buyer_name == "Carla Kunde" and invoice.buyer_address.startswith("Hauptstraße 5")
    assert invoice.seller["name"] == "Example Hosting GmbH" and invoice.seller["vat_number"] == "DE123456789"


def test_numbers_follow_each_other_per_series_and_restart_yearly(shop, app):
    numbers = []
    for n in range(3):
        _placed, invoice = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
        payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                                external_id=f"n{n}")
        numbers.append(invoice.number)
    year = date.today().year
    assert numbers == [f"{year}-000001", f"{year}-000002", f"{year}-000003"]
    app.config["BILLING_NUMBER_YEARLY_RESET"] = False
    app.config["BILLING_NUMBER_FORMATS"] = {**app.config["BILLING_NUMBER_FORMATS"], "invoice": "R{sequence:07d}"}
    _placed, invoice = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="no-reset")
    assert invoice.number == "R0000001" and invoice.year is None  # a series of its own, never restarted


def test_a_free_order_is_final_and_active_at_once(shop):
    from helpdesk.billing import catalogue

    freebie = catalogue.create_product(shop.admin, group=shop.web.group, code="trial", texts={"en": {"name": "Trial"}})
    catalogue.set_price(shop.admin, freebie, cycle="one_off", currency="EUR", amount=0)
    placed, invoice = order(shop.carla, shop.carla_account, freebie, cycle="one_off")
    assert invoice.status == FINAL and invoice.number and placed.services[0].status == SERVICE_ACTIVE
    assert placed.services[0].next_due_date is None


# --------------------------------------------------------------------------- real concurrency (PostgreSQL)

@pytest.fixture
def postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite has one writer at a time)")


def test_the_same_payment_three_times_at_once_is_one_payment_and_one_activation(shop, app, postgresql_only):
    placed, invoice = order(shop.carla, shop.carla_account, shop.start)
    invoice_id, total = invoice.id, invoice.total
    db.session.commit()

    results, errors = at_once(app, 3, lambda _i: payments.record_payment(
        SYSTEM, invoice=invoice_id, amount=total, currency="EUR", source="stripe", external_id="pi_3Ab").id)

    assert errors == [] and len(set(results)) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
    service_ids = [s.id for s in db.session.scalars(sa.select(Service).where(Service.order_id == placed.id))]
    assert len(service_ids) == 2 and _activations(service_ids) == 1 * len(service_ids)
    assert db.session.get(Invoice, invoice_id).amount_paid == total
    assert credit.balance(shop.carla_account.id, "EUR") == 0


def test_fifty_invoices_paid_at_once_take_numbers_one_to_fifty(shop, app, postgresql_only):
    targets = []
    for _n in range(50):
        _placed, invoice = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
        targets.append((invoice.id, invoice.total))
    db.session.commit()

    _results, errors = at_once(app, 50, lambda i: payments.record_payment(
        SYSTEM, invoice=targets[i][0], amount=targets[i][1], currency="EUR", source="manual", external_id=f"b{i}").id)

    assert errors == []
    db.session.expire_all()
    sequences = sorted(db.session.scalars(sa.select(Invoice.sequence).where(Invoice.status == FINAL)))
    assert sequences == list(range(1, 51))
    numbers = db.session.scalars(sa.select(Invoice.number).where(Invoice.status == FINAL)).all()
    assert len(set(numbers)) == 50


def test_customer_actor_loaded_in_each_thread_pays_from_credit_once(shop, app, postgresql_only):
    """Two spends of one balance racing: one wins, the other is refused; the balance never goes below zero."""
    credit.adjust_credit(shop.admin, shop.carla_account, currency="EUR", amount=2000, note="Goodwill")
    first = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly", method="credit")[1]
    second = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly", method="credit")[1]
    assert first.total == second.total == 1785  # 15.00 + 19 % VAT: together more than the 20.00 of credit
    ids, carla_id = [first.id, second.id], shop.carla.id
    db.session.commit()

    def spend(i):
        carla = db.session.get(User, carla_id)
        return credit.pay_from_credit(carla, ids[i], key=f"form-{i}").id

    results, errors = at_once(app, 2, spend)

    assert len(results) == 1 and len(errors) == 1
    assert type(errors[0]).__name__ == "InsufficientCredit"
    db.session.expire_all()
    assert credit.balance(shop.carla_account.id, "EUR") == 2000 - 1785
    assert [e.balance_after for e in reversed(credit.ledger(shop.carla, shop.carla_account.id))] == [2000, 215]


def test_services_due_for_renewal_are_found_by_their_next_due_date(shop):
    from helpdesk.billing.services import services_due

    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="due")
    service = placed.services[0]
    assert services_due(service.next_due_date) == [service]
    assert services_due(service.period_start) == []
