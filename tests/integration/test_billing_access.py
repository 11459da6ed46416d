"""Who sees and does what in billing, at the service level: a customer reaches only their own account's orders,
invoices, payments, services, proofs and credit (NotFound for another's, so its existence is not revealed) and can
pay only their own invoices; agents read every account but change nothing; admins and agents given the billing
permission change billing."""
from datetime import date

import pytest

from helpdesk.actors import SYSTEM
from helpdesk.billing import access, credit, customers, gateways, invoices, orders, payments, services, transfers
from helpdesk.errors import NotAllowed, NotFound
from tests.integration.billing_shop import billing_app, build_shop, order


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def shop(app):
    shop = build_shop()
    shop.order, shop.invoice = order(shop.carla, shop.carla_account, shop.web)
    shop.payment = payments.record_payment(SYSTEM, invoice=shop.invoice, amount=shop.invoice.total + 100,
                                           currency="EUR", source="manual", external_id="carla-1")
    shop.proof = transfers.upload_proof(shop.carla, shop.invoice, filename="receipt.pdf",
                                        content_type="application/pdf", data=b"%PDF-1.4 receipt")
    shop.service = shop.order.services[0]
    return shop


def test_a_customer_reads_their_own_billing(shop):
    carla = shop.carla
    assert access.get_invoice(carla, shop.invoice.id) is shop.invoice
    assert access.get_order(carla, shop.order.id) is shop.order
    assert access.get_payment(carla, shop.payment.id) is shop.payment
    assert access.get_service(carla, shop.service.id) is shop.service
    assert access.get_proof(carla, shop.proof.id) is shop.proof
    assert [i.id for i in invoices.invoices_of(carla)] == [shop.invoice.id]
    assert [o.id for o in orders.orders_of(carla)] == [shop.order.id]
    assert [s.id for s in services.services_of(carla)] == [shop.service.id]
    assert credit.balances(carla, shop.carla_account.id) == {"EUR": 100}


@pytest.mark.parametrize("read", ["get_invoice", "get_order", "get_payment", "get_service", "get_proof",
                                  "get_account"])
def test_a_customer_cannot_read_anothers_billing(shop, read):
    target = {"get_invoice": shop.invoice, "get_order": shop.order, "get_payment": shop.payment,
              "get_service": shop.service, "get_proof": shop.proof, "get_account": shop.carla_account}[read]
    with pytest.raises(NotFound):
        getattr(access, read)(shop.bora, target.id)


def test_another_customers_lists_and_ledger_are_empty_or_hidden(shop):
    assert invoices.invoices_of(shop.bora) == [] and orders.orders_of(shop.bora) == []
    assert services.services_of(shop.bora) == []
    # Asking for Carla's account by its id shows Bora nothing of it.
    assert invoices.invoices_of(shop.bora, shop.carla_account.id) == []
    with pytest.raises(NotFound):
        credit.ledger(shop.bora, shop.carla_account.id)
    with pytest.raises(NotFound):
        credit.balances(shop.bora, shop.carla_account.id)
    with pytest.raises(NotFound):
        transfers.proofs_of(shop.bora, shop.invoice)


def test_a_customer_cannot_pay_or_touch_anothers_invoice(shop):
    _placed, unpaid = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    credit.adjust_credit(shop.admin, shop.bora_account, currency="EUR", amount=10_000, note="Test")
    with pytest.raises(NotFound):
        credit.pay_from_credit(shop.bora, unpaid)
    with pytest.raises(NotFound):
        payments.record_payment(shop.bora, invoice=unpaid, amount=100, currency="EUR", source="credit",
                                external_id="steal")
    with pytest.raises(NotFound):
        transfers.upload_proof(shop.bora, unpaid, filename="x.pdf", content_type="application/pdf", data=b"x")
    with pytest.raises(NotFound):
        transfers.transfer_instructions(shop.bora, unpaid, "en")
    with pytest.raises(NotFound):
        gateways.start_checkout(shop.bora, unpaid, "fake", return_url="https://x", cancel_url="https://x")
    with pytest.raises(NotFound):
        customers.update_details(shop.bora, shop.carla_account, name="Mine now")
    assert credit.balance(shop.bora_account.id, "EUR") == 10_000


def test_a_customer_cannot_record_other_payments_on_their_own_invoice(shop):
    _placed, unpaid = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    with pytest.raises(NotAllowed):
        payments.record_payment(shop.carla, invoice=unpaid, amount=unpaid.total, currency="EUR",
                                source="bank_transfer", external_id="self-booked")


def test_a_customer_cannot_order_for_another_account(shop):
    from helpdesk.billing.pricing import CartItem

    with pytest.raises(NotFound):
        orders.place_order(shop.bora, shop.carla_account, [CartItem(shop.domain.id, "yearly")],
                           payment_method="bank_transfer")


def test_agents_read_every_account_but_change_nothing(shop):
    agent = shop.agent
    assert access.get_invoice(agent, shop.invoice.id) is shop.invoice
    assert access.get_proof(agent, shop.proof.id) is shop.proof
    assert {i.id for i in invoices.invoices_of(agent)} == {shop.invoice.id}
    _placed, unpaid = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    for change in (lambda: orders.accept_order(agent, shop.order), lambda: orders.hold_order(agent, _placed),
                   lambda: orders.cancel_order(agent, _placed),
                   lambda: transfers.book_transfer(agent, unpaid, amount=100, value_date=date.today(),
                                                   bank_reference="AG-1"),
                   lambda: invoices.credit_invoice(agent, shop.invoice),
                   lambda: credit.adjust_credit(agent, shop.carla_account, currency="EUR", amount=5, note="x"),
                   lambda: services.change_status(agent, shop.service, "suspend")):
        with pytest.raises(NotAllowed):
            change()


def test_billing_staff_permission_is_granted_by_admins_only(shop):
    with pytest.raises(NotAllowed):
        access.grant_billing(shop.agent, shop.agent)
    access.grant_billing(shop.admin, shop.agent)
    assert access.may_manage(shop.agent)
    services.change_status(shop.agent, shop.service, "suspend", reason="Unpaid")
    access.grant_billing(shop.admin, shop.agent, granted=False)
    assert not access.may_manage(shop.agent)
    with pytest.raises(NotAllowed):
        access.grant_billing(shop.admin, shop.carla)  # customers never


def test_only_active_and_suspended_services_of_the_customer_reach_the_ticket_form(shop):
    from helpdesk.tickets.details import customer_services

    _placed, _unpaid = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")  # pending: not offered
    offered = customer_services(shop.carla)
    assert [s.ref for s in offered] == [f"service-{shop.service.id}"]
    assert offered[0].label == "Web hosting"
    assert customer_services(shop.bora) == []


def test_the_cli_gives_an_agent_the_billing_permission(shop, app):
    from click.testing import CliRunner

    from helpdesk.cli import main
    from helpdesk.extensions import db

    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None}
    db.session.commit()

    result = CliRunner().invoke(main, ["user", "billing-staff", shop.agent.email], env=env)

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert access.may_manage(shop.agent)
    refused = CliRunner().invoke(main, ["user", "billing-staff", shop.carla.email], env=env)
    assert refused.exit_code == 2
