"""A customer orders in the portal, pays by card on (a fake of) Stripe's hosted Checkout, comes back to a page that
follows the payment until Stripe's webhook confirms it, and finds the invoice final and the service active."""
import re

import pytest
from flask import url_for
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.fakes.stripe_api import API_KEY, WEBHOOK_SECRET, FakeStripe
from tests.integration.billing_shop import billing_app, build_shop
from tests.integration.card_gateways import customer_who_logs_in


@pytest.fixture
def fake():
    stripe = FakeStripe().start()
    yield stripe
    stripe.stop()


@pytest.fixture
def app(app_factory, fake):
    yield from billing_app(app_factory, BILLING_GATEWAYS=["stripe"], STRIPE_API_BASE=fake.url,
                           STRIPE_SECRET_KEY=API_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
def shop(app):
    shop = build_shop()
    customer_who_logs_in("dora@example.test", name="Dora Kunde", address="Hauptstraße 5\n10115 Berlin",
                         country="DE")
    return shop


def test_an_order_paid_by_card_at_stripe_becomes_active(app, shop, fake, page, live_server):
    fake.webhook_url = f"{live_server}/billing/webhooks/stripe"
    with app.test_request_context():
        product_page = url_for("billing.product", product_id=shop.web.id)
    log_in(page, "dora@example.test")

    page.goto(product_page)
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_label("Card, paid online (Stripe)").check()
    page.get_by_role("button", name="Place the order").click()
    page.wait_for_url(re.compile(r"/billing/invoices/\d+$"))
    page.get_by_role("button", name="Pay by card").click()

    page.wait_for_url(re.compile(re.escape(fake.url) + r"/c/pay/cs_test_\w+"))
    [session] = fake.sessions.values()
    expect(page.locator(".total")).to_have_text(f"{session['amount_total'] / 100:.2f} EUR")
    page.get_by_role("button", name="Pay").click()

    page.wait_for_url(re.compile(r"/billing/invoices/\d+/payment/stripe\?session_id=cs_test_\w+"))
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=15_000)
    page.get_by_role("link", name="View the invoice").click()
    expect(page.get_by_role("heading", name="Pay by card")).to_have_count(0)
    page.goto("/billing/services")
    expect(page.locator(".service-status")).to_have_text(["Active"])
    assert [kind for kind, status, _body in fake.deliveries if status == 200] == [
        "checkout.session.completed", "payment_intent.succeeded"]
