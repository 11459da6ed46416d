"""Who reaches which billing page, through the test client (on PostgreSQL): a customer gets 404 for another
customer's order, invoice, PDF, payment, proof and service, and cannot pay or send a proof for another's invoice;
customers never reach the console's billing pages (404) and guests are asked to log in; plain agents read the console
but every change is refused (403) and nothing changes; every billing form needs its CSRF token."""
from datetime import date

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.billing import credit, payments, transfers
from helpdesk.billing.catalogue_models import ProductGroup, ProductPrice, TaxRule
from helpdesk.billing.models import (
    CreditEntry,
    Invoice,
    Order,
    Payment,
    PaymentAttempt,
    PaymentProof,
    TransferBooking,
)
from helpdesk.extensions import db
from tests.integration.billing_shop import billing_app, order
from tests.integration.billing_web import fresh, login, post, web_shop

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def world(app):
    """Carla's unpaid order (a proforma with a proof), her paid order (a final invoice, an active service, a
    payment), a transfer awaiting approval; Bora with credit of his own."""
    shop = web_shop()
    shop.order, shop.unpaid = order(shop.carla, shop.carla_account, shop.web)
    shop.paid_order, shop.paid = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    shop.payment = payments.record_payment(SYSTEM, invoice=shop.paid, amount=shop.paid.total, currency="EUR",
                                           source="manual", external_id="carla-paid")
    shop.proof = transfers.upload_proof(shop.carla, shop.unpaid, filename="receipt.pdf",
                                        content_type="application/pdf", data=b"%PDF-1.4 receipt")
    shop.service = shop.paid_order.services[0]
    _big_order, big = order(shop.carla, shop.carla_account, shop.contract, cycle="biennial", quantity=3)
    shop.booking = transfers.book_transfer(shop.admin, big, amount=big.total, value_date=date(2026, 6, 1),
                                           bank_reference="STATEMENT-1")
    credit.adjust_credit(shop.admin, shop.bora_account, currency="EUR", amount=50_000, note="Goodwill")
    ids = {"order": shop.order.id, "invoice": shop.unpaid.id, "paid_order": shop.paid_order.id,
           "paid_invoice": shop.paid.id, "payment": shop.payment.id, "proof": shop.proof.id,
           "service": shop.service.id, "booking": shop.booking.id, "account": shop.carla_account.id,
           "product": shop.web.id, "package": shop.start.id, "group": shop.web.group_id,
           "choice": shop.disk.choices[1].id, "item": shop.domain.id}
    db.session.commit()
    shop.ids = ids
    return shop


CUSTOMER_PAGES = ["/billing/orders/{order}", "/billing/orders/{paid_order}", "/billing/invoices/{invoice}",
                  "/billing/invoices/{paid_invoice}", "/billing/invoices/{invoice}/pdf",
                  "/billing/invoices/{paid_invoice}/pdf", "/billing/payments/{payment}", "/billing/proofs/{proof}",
                  "/billing/services/{service}"]


def test_the_owner_reaches_each_of_her_billing_pages(client, world):
    login(client, world.carla)
    for page in CUSTOMER_PAGES:
        assert client.get(page.format(**world.ids)).status_code == 200, page


@pytest.mark.parametrize("page", CUSTOMER_PAGES)
def test_another_customer_gets_404_for_each_of_her_billing_pages(client, world, page):
    login(client, world.bora)
    response = client.get(page.format(**world.ids))
    assert response.status_code == 404
    assert "Carla" not in response.text and world.unpaid.reference not in response.text


def test_another_customers_lists_show_nothing_of_hers(client, world):
    login(client, world.bora)
    for page in ("/billing/orders", "/billing/invoices", "/billing/invoices?state=paid", "/billing/services",
                 "/billing/balance", "/billing/details"):
        response = client.get(page)
        assert response.status_code == 200, page
        for hers in (world.unpaid.reference, world.paid.number, "Carla Kunde", "carla"):
            assert hers not in response.text, (page, hers)


def _money_and_proofs():
    db.session.rollback()
    return (db.session.scalar(sa.select(sa.func.count()).select_from(PaymentProof)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Payment)),
            db.session.scalar(sa.select(sa.func.count()).select_from(PaymentAttempt)),
            db.session.scalar(sa.select(sa.func.sum(Invoice.amount_paid))),
            db.session.scalar(sa.select(sa.func.count()).select_from(CreditEntry)))


def test_another_customer_cannot_pay_or_send_a_proof_for_her_invoice(app, client, world):
    app.config["BILLING_GATEWAYS"] = ["stripe"]
    login(client, world.bora)
    before = _money_and_proofs()
    invoice = world.ids["invoice"]
    upload = post(client, f"/billing/invoices/{invoice}/proof", {"proof": (__import__("io").BytesIO(b"%PDF"),
                                                                            "mine.pdf")},
                  page="/billing/balance", content_type="multipart/form-data")
    credit_pay = post(client, f"/billing/invoices/{invoice}/pay-from-credit", {"key": "k" * 20},
                      page="/billing/balance")
    card = post(client, f"/billing/invoices/{invoice}/pay/stripe", page="/billing/balance")
    assert (upload.status_code, credit_pay.status_code, card.status_code) == (404, 404, 404)
    assert _money_and_proofs() == before


CONSOLE_PAGES = ["/agent/billing/", "/agent/billing/orders", "/agent/billing/orders/{order}",
                 "/agent/billing/invoices", "/agent/billing/invoices?q=carla", "/agent/billing/invoices/{invoice}",
                 "/agent/billing/invoices/{invoice}/pdf", "/agent/billing/transfers", "/agent/billing/proofs",
                 "/agent/billing/proofs/{proof}", "/agent/billing/customers", "/agent/billing/customers/{account}",
                 "/agent/billing/catalogue/", "/agent/billing/catalogue/groups/new",
                 "/agent/billing/catalogue/groups/{group}", "/agent/billing/catalogue/products/new",
                 "/agent/billing/catalogue/products/{product}"]


def test_every_agent_reads_the_billing_console(client, world):
    login(client, world.agent)
    for page in CONSOLE_PAGES:
        response = client.get(page.format(**world.ids), follow_redirects=True)
        assert response.status_code == 200, page


@pytest.mark.parametrize("page", CONSOLE_PAGES)
def test_customers_never_reach_the_billing_console(client, world, page):
    login(client, world.carla)
    assert client.get(page.format(**world.ids)).status_code == 404


def test_guests_are_asked_to_log_in(client, world):
    for page in CONSOLE_PAGES[1:3] + CUSTOMER_PAGES[:3] + ["/billing/cart", "/billing/invoices"]:
        response = client.get(page.format(**world.ids))
        assert response.status_code == 302 and "/login" in response.headers["Location"], page


# What billing staff do, each with data that would be accepted: a plain agent is refused every one of them.
MANAGER_ACTIONS = [
    ("/agent/billing/orders/{order}/accept", {"note": ""}),
    ("/agent/billing/orders/{order}/hold", {"note": ""}),
    ("/agent/billing/orders/{order}/cancel", {"note": ""}),
    ("/agent/billing/invoices/{paid_invoice}/credit-note", {"reason": "Wrong product"}),
    ("/agent/billing/transfers", {"invoice": "{reference}", "amount": "10.00", "value_date": "2026-06-01",
                                  "bank_reference": "STATEMENT-2"}),
    ("/agent/billing/transfers/{booking}/approve", {}),
    ("/agent/billing/transfers/{booking}/reject", {"reason": "Wrong invoice"}),
    ("/agent/billing/customers/{account}/details", {"name": "Carla GmbH", "country": "DE", "currency": "EUR",
                                                    "customer_type": "business"}),
    ("/agent/billing/customers/{account}/credit", {"direction": "add", "currency": "EUR", "amount": "5.00",
                                                   "note": "Goodwill"}),
    ("/agent/billing/catalogue/groups/new", {"code": "servers", "name_en": "Servers", "position": "1"}),
    ("/agent/billing/catalogue/groups/{group}", {"name_en": "Hosting 2", "position": "1"}),
    ("/agent/billing/catalogue/products/new", {"code": "vps", "group": "{group}", "kind": "product",
                                               "name_en": "VPS", "position": "0"}),
    ("/agent/billing/catalogue/products/{product}", {"group": "{group}", "name_en": "Web hosting 2",
                                                     "position": "0"}),
    ("/agent/billing/catalogue/products/{product}/prices", {"cycle": "quarterly", "currency": "EUR",
                                                            "amount": "25.00", "setup_fee": "0"}),
    ("/agent/billing/catalogue/products/{product}/prices/remove", {"cycle": "monthly", "currency": "EUR"}),
    ("/agent/billing/catalogue/products/{product}/options", {"code": "support", "name_en": "Support",
                                                             "choices": "basic = Basic"}),
    ("/agent/billing/catalogue/products/{product}/choice-prices", {"choice": "{choice}", "cycle": "yearly",
                                                                   "currency": "EUR", "amount": "30.00"}),
    ("/agent/billing/catalogue/products/{package}/items", {"item": "{product}", "cycle": "monthly",
                                                           "free_periods": "0"}),
    ("/agent/billing/catalogue/tax-rules", {"country": "AT", "customer_type": "", "name": "USt.", "rate": "20"}),
]


def _billing_state():
    """Counts and sums of everything a console action could change."""
    db.session.rollback()

    def count(model):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    return (count(Order), count(Invoice), count(TransferBooking), count(Payment), count(CreditEntry),
            count(ProductGroup), count(ProductPrice), count(TaxRule),
            tuple(db.session.scalars(sa.select(Order.status).order_by(Order.id))),
            tuple(db.session.scalars(sa.select(TransferBooking.status).order_by(TransferBooking.id))),
            tuple(db.session.scalars(sa.select(Invoice.status).order_by(Invoice.id))))


def _fill(data, world):
    values = {**world.ids, "reference": world.unpaid.payment_reference}
    return {key: value.format(**values) for key, value in data.items()}


def test_a_plain_agent_is_refused_every_billing_change(client, world):
    login(client, world.agent)
    before = _billing_state()
    for path, data in MANAGER_ACTIONS:
        response = post(client, path.format(**world.ids), _fill(data, world), page="/agent/billing/orders")
        assert response.status_code == 403, path
    assert _billing_state() == before


def test_customers_cannot_post_to_the_console(client, world):
    login(client, world.carla)
    before = _billing_state()
    for path, data in MANAGER_ACTIONS:
        response = post(client, path.format(**world.ids), _fill(data, world), page="/billing/orders")
        assert response.status_code == 404, path
    assert _billing_state() == before


CUSTOMER_ACTIONS = [("/billing/products/{product}", {"cycle": "monthly", "quantity": "1"}),
                    ("/billing/cart/1/remove", {}), ("/billing/checkout", {"payment_method": "bank_transfer"}),
                    ("/billing/invoices/{invoice}/pay-from-credit", {"key": "k" * 20}),
                    ("/billing/invoices/{invoice}/proof", {}), ("/billing/details", {"name": "Carla"})]


@pytest.mark.parametrize("who, actions", [("carla", CUSTOMER_ACTIONS), ("admin", MANAGER_ACTIONS)])
def test_every_billing_form_needs_its_csrf_token(client, world, who, actions):
    login(client, getattr(world, who))
    before = _billing_state()
    for path, data in actions:
        response = client.post(path.format(**world.ids), data=_fill(data, world))
        assert response.status_code == 400, path
    assert _billing_state() == before


def test_the_booker_cannot_approve_their_own_booking(client, world):
    login(client, world.admin)
    page = post(client, f"/agent/billing/transfers/{world.booking.id}/approve", page="/agent/billing/transfers",
                follow_redirects=True)
    assert "Another staff member must approve this booking." in page.text
    assert fresh(TransferBooking, world.booking.id).status == "awaiting_approval"
