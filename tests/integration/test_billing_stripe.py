"""Stripe Checkout against a fake of Stripe's API on loopback: the session is created with Stripe's form parameters
and OUR amount (HUF in Stripe's two-decimal units), webhooks are believed only with a valid Stripe-Signature on the
raw body, the several events Stripe sends for one payment (each possibly several times, at once, out of order) make
one payment and one activation, and neither secret ever reaches a log."""
import json
import logging
import time

import pytest
import sqlalchemy as sa

from helpdesk.billing import gateways, orders
from helpdesk.billing.errors import InvoiceNotPayable
from helpdesk.billing.models import (
    ATTEMPT_FAILED,
    ATTEMPT_REDIRECTED,
    ATTEMPT_SUCCEEDED,
    FINAL,
    PROFORMA,
    Invoice,
    PaymentAttempt,
)
from helpdesk.extensions import db
from helpdesk.providers.stripe import StripeAmountError, from_stripe_amount, to_stripe_amount
from tests.conftest import csrf_token, log_in
from tests.fakes.stripe_api import API_KEY, WEBHOOK_SECRET, FakeStripe
from tests.integration.billing_shop import billing_app, build_shop, order
from tests.integration.card_gateways import activations, customer_who_logs_in, fresh, payments, serve

RETURN, CANCEL = "http://shop.example.test/back", "http://shop.example.test/cancelled"


# The Stripe adapter against its fake; record_payment behind it is tested on both databases.
pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def fake():
    stripe = FakeStripe().start()
    yield stripe
    stripe.stop()


@pytest.fixture
def app(app_factory, fake):
    yield from billing_app(app_factory, BILLING_GATEWAYS=["stripe", "zarinpal"], STRIPE_API_BASE=fake.url,
                           STRIPE_SECRET_KEY=API_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, BILLING_GATEWAY_TIMEOUT=1,
                           ZARINPAL_MERCHANT_ID="zarinpal-never-called")


@pytest.fixture
def live(app, fake):
    """The app over HTTP; the fake sends its webhooks there."""
    server = serve(app)
    fake.webhook_url = f"{server.url}/billing/webhooks/stripe"
    yield server.url
    server.stop()


@pytest.fixture
def shop(app):
    return build_shop()


def checkout(shop, product=None, **kwargs):
    """Carla orders ``product`` (the web hosting) to pay by card and is sent to Stripe: (order, invoice, attempt)."""
    placed, invoice = order(shop.carla, shop.carla_account, product or shop.web, method="stripe", **kwargs)
    attempt, _url = gateways.start_checkout(shop.carla, invoice, "stripe", return_url=RETURN, cancel_url=CANCEL)
    db.session.commit()  # the test's session holds nothing while the app's requests write
    return placed, invoice, attempt


def attempt_status(attempt_id):
    fresh()
    return db.session.get(PaymentAttempt, attempt_id).status


# --------------------------------------------------------------------------- amounts and currencies

def test_amounts_go_to_stripe_in_its_units_and_huf_in_whole_forints():
    assert to_stripe_amount(1190, "EUR") == 1190 and to_stripe_amount(35880, "TRY") == 35880
    assert to_stripe_amount(12990, "HUF") == 1_299_000  # two-decimal in Stripe's API, divisible by 100
    assert from_stripe_amount(1_299_000, "huf") == 12990 and from_stripe_amount(1190, "eur") == 1190
    for value, currency in ((1_299_050, "huf"), (10.5, "eur"), (True, "eur"), (100, "irr")):
        with pytest.raises(StripeAmountError):
            from_stripe_amount(value, currency)


def test_stripe_is_offered_for_eur_try_and_huf_but_not_irr(shop, fake):
    assert "stripe" in orders.payment_methods("EUR") and "stripe" in orders.payment_methods("HUF")
    assert "stripe" in orders.payment_methods("TRY") and "stripe" not in orders.payment_methods("IRR")
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web, currency="IRR")
    with pytest.raises(InvoiceNotPayable):
        gateways.start_checkout(shop.carla, invoice, "stripe", return_url=RETURN, cancel_url=CANCEL)
    assert fake.requests == []


# --------------------------------------------------------------------------- checkout

def test_checkout_creates_a_stripe_session_for_our_amount(shop, fake):
    _placed, invoice, attempt = checkout(shop)

    [sent] = fake.requests
    assert sent["path"] == "/v1/checkout/sessions" and sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["headers"]["Idempotency-Key"].startswith(f"helpdesk-checkout-{attempt.id}-")
    form = sent["form"]
    assert form["mode"] == "payment" and form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][unit_amount]"] == str(invoice.total)
    assert form["line_items[0][price_data][product_data][name]"] == f"Invoice {invoice.name}"
    assert form["metadata[attempt_id]"] == form["payment_intent_data[metadata][attempt_id]"] == str(attempt.id)
    assert form["client_reference_id"] == str(attempt.id) and form["customer_email"] == "carla@example.test"
    assert form["success_url"] == f"{RETURN}?session_id={{CHECKOUT_SESSION_ID}}" and form["cancel_url"] == CANCEL
    assert form["locale"] == "en"
    db.session.refresh(attempt)
    [session] = fake.sessions.values()
    assert attempt.status == ATTEMPT_REDIRECTED and attempt.provider_reference == session["id"]


def test_a_huf_invoice_is_charged_in_whole_forints_and_recorded_in_forints(shop, fake, live):
    _placed, invoice, _attempt = checkout(shop, currency="HUF")
    form = fake.requests[0]["form"]
    assert form["line_items[0][price_data][currency]"] == "huf"
    assert form["line_items[0][price_data][unit_amount]"] == str(invoice.total * 100)

    [session_id] = fake.sessions
    assert fake.deliver_all(fake.pay(session_id)) == [200, 200]

    [payment] = payments()
    assert (payment.amount, payment.currency) == (invoice.total, "HUF")


def test_a_stripe_failure_fails_the_attempt_and_says_nothing_secret(shop, fake):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web, method="stripe")
    fake.failures = [500]
    with pytest.raises(gateways.GatewayError) as refused:
        gateways.start_checkout(shop.carla, invoice, "stripe", return_url=RETURN, cancel_url=CANCEL)
    assert "HTTP 500" in str(refused.value) and API_KEY not in str(refused.value)
    fake.api_key = "sk_test_another"
    with pytest.raises(gateways.GatewayError) as unauthorised:
        gateways.start_checkout(shop.carla, invoice, "stripe", return_url=RETURN, cancel_url=CANCEL)
    assert "HTTP 401" in str(unauthorised.value) and API_KEY[:15] not in str(unauthorised.value)
    failures = db.session.scalars(sa.select(PaymentAttempt.failure)).all()
    assert len(failures) == 2 and not any(API_KEY in failure for failure in failures)
    assert set(db.session.scalars(sa.select(PaymentAttempt.status))) == {ATTEMPT_FAILED}


def test_a_timeout_is_retried_once_with_the_same_idempotency_key(shop, fake):
    fake.failures = ["timeout"]
    _placed, _invoice, attempt = checkout(shop)
    first, second = fake.requests
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert first["form"] == second["form"] and attempt_status(attempt.id) == ATTEMPT_REDIRECTED
    assert len(fake.sessions) == 1


# --------------------------------------------------------------------------- webhooks

def test_the_events_of_one_payment_record_one_payment_and_activate_once(shop, fake, live):
    placed, invoice, attempt = checkout(shop)
    [session_id] = fake.sessions
    completed, succeeded = fake.pay(session_id)

    assert fake.deliver_all([completed, succeeded, completed]) == [200, 200, 200]

    [payment] = payments()
    assert payment.source == "stripe" and payment.external_id == fake.sessions[session_id]["payment_intent"]
    assert (payment.amount, payment.attempt_id) == (invoice.total, attempt.id)
    assert db.session.get(Invoice, invoice.id).status == FINAL and attempt_status(attempt.id) == ATTEMPT_SUCCEEDED
    assert activations() == len(placed.services) == 1


def test_payment_intent_succeeded_alone_or_first_records_the_payment(shop, fake, live):
    _placed, invoice, _attempt = checkout(shop)
    [session_id] = fake.sessions
    completed, succeeded = fake.pay(session_id)

    assert fake.deliver(succeeded) == 200
    assert len(payments()) == 1 and db.session.get(Invoice, invoice.id).status == FINAL
    assert fake.deliver(completed) == 200
    assert len(payments()) == 1


def test_the_same_webhook_three_times_at_once_is_one_payment_and_one_activation(shop, fake, live):
    placed, invoice, _attempt = checkout(shop, product=shop.start)  # the package: two services
    [session_id] = fake.sessions
    completed, _succeeded = fake.pay(session_id)

    assert fake.deliver_all([completed], times=3, parallel=True) == [200, 200, 200]

    assert len(payments()) == 1 and db.session.get(Invoice, invoice.id).status == FINAL
    assert activations() == len(placed.services) == 2


def test_every_event_of_one_payment_several_times_at_once_out_of_order_is_one_payment(shop, fake, live):
    _placed, invoice, _attempt = checkout(shop, product=shop.start)
    [session_id] = fake.sessions
    events = fake.pay(session_id)

    assert fake.deliver_all(events, times=3, parallel=True, shuffle=True) == [200] * 6

    [payment] = payments()
    assert payment.amount == invoice.total and activations() == 2
    numbers = db.session.scalars(sa.select(Invoice.number).where(Invoice.number.is_not(None))).all()
    assert len(numbers) == 1


def _signed_then_changed(fake, event):
    payload = json.dumps(event).encode()
    header = fake.sign(payload)
    return header, payload.replace(b'"status": "succeeded"', b'"status": "succeeded" ')


@pytest.mark.parametrize("forgery", ["other secret", "stale", "from the future", "no header", "body changed",
                                     "v0 only", "garbage"])
def test_a_forged_or_stale_signature_is_refused_and_nothing_recorded(shop, fake, live, forgery):
    _placed, invoice, attempt = checkout(shop)
    [session_id] = fake.sessions
    _completed, succeeded = fake.pay(session_id)
    payload = json.dumps(succeeded).encode()
    header, body = {
        "other secret": (fake.sign(payload, secret="whsec_guessed"), payload),
        "stale": (fake.sign(payload, timestamp=time.time() - 301), payload),
        "from the future": (fake.sign(payload, timestamp=time.time() + 600), payload),
        "no header": ("", payload),
        "body changed": _signed_then_changed(fake, succeeded),
        "v0 only": (fake.sign(payload).replace("v1=", "v0="), payload),
        "garbage": ("t=abc,v1=zz", payload),
    }[forgery]

    assert fake.deliver(succeeded, header=header, payload=body) == 400

    assert payments() == [] and db.session.get(Invoice, invoice.id).status == PROFORMA
    assert attempt_status(attempt.id) == ATTEMPT_REDIRECTED


def test_a_signature_among_several_v1_values_is_believed(shop, fake, live):
    _placed, _invoice, _attempt = checkout(shop)
    [session_id] = fake.sessions
    _completed, succeeded = fake.pay(session_id)
    payload = json.dumps(succeeded).encode()
    header = fake.sign(payload, extra_signatures=["0" * 64, "deadbeef"])

    assert fake.deliver(succeeded, header=header, payload=payload) == 200
    assert len(payments()) == 1


def test_a_signed_event_with_another_amount_records_nothing_and_fails_the_attempt(shop, fake, live):
    _placed, invoice, attempt = checkout(shop)
    [session_id] = fake.sessions
    _completed, succeeded = fake.pay(session_id, amount_received=100)

    assert fake.deliver(succeeded) == 200

    assert payments() == [] and attempt_status(attempt.id) == ATTEMPT_FAILED
    assert db.session.get(Invoice, invoice.id).status == PROFORMA


def test_an_expired_session_fails_the_attempt_but_never_undoes_a_payment(shop, fake, live):
    _placed, _invoice, unpaid = checkout(shop)
    [unpaid_session] = fake.sessions
    assert fake.deliver(fake.expire(unpaid_session)) == 200
    assert attempt_status(unpaid.id) == ATTEMPT_FAILED

    _placed, _invoice, paid = checkout(shop, product=shop.domain, cycle="yearly")
    paid_session = next(key for key in fake.sessions if key != unpaid_session)
    fake.deliver_all(fake.pay(paid_session))
    late = fake.event("checkout.session.expired", {**fake.public(fake.sessions[paid_session]), "status": "expired"})
    assert fake.deliver(late) == 200
    assert attempt_status(paid.id) == ATTEMPT_SUCCEEDED and len(payments()) == 1


def test_events_that_are_not_ours_are_acknowledged_and_ignored(shop, fake, live):
    stranger = fake.event("payment_intent.succeeded", {"id": "pi_other", "object": "payment_intent",
                                                       "amount": 500, "amount_received": 500, "currency": "eur",
                                                       "metadata": {}})
    unknown_attempt = fake.event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent",
                                                              "amount": 500, "amount_received": 500,
                                                              "currency": "eur", "metadata": {"attempt_id": "999"}})
    other_kind = fake.event("customer.created", {"id": "cus_1", "object": "customer"})

    assert fake.deliver_all([stranger, unknown_attempt, other_kind]) == [200, 200, 200]
    assert payments() == []


def test_webhooks_are_rate_limited_per_address(app, shop, fake, live):
    app.config["BILLING_WEBHOOK_RATE_LIMIT"] = "3 per minute"
    event = fake.event("customer.created", {"id": "cus_1", "object": "customer"})
    assert fake.deliver_all([event], times=4) == [200, 200, 200, 429]


def test_neither_secret_reaches_a_log(shop, fake, live, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="helpdesk")
    _placed, _invoice, _attempt = checkout(shop)
    [session_id] = fake.sessions
    fake.deliver_all(fake.pay(session_id), times=2)
    fake.deliver(fake.pay(session_id)[1], header=fake.sign(b"{}", secret="whsec_wrong"))
    _placed, invoice = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly", method="stripe")
    fake.failures = [503]
    with pytest.raises(gateways.GatewayError):
        gateways.start_checkout(shop.carla, invoice, "stripe", return_url=RETURN, cancel_url=CANCEL)

    assert "stripe webhook" in caplog.text and len(caplog.records) > 5
    assert API_KEY not in caplog.text and WEBHOOK_SECRET not in caplog.text
    assert API_KEY[8:30] not in caplog.text and WEBHOOK_SECRET[6:30] not in caplog.text


# --------------------------------------------------------------------------- the customer's pages

def test_pay_by_card_sends_the_customer_to_stripe_and_back_to_a_page_that_follows_the_payment(shop, fake, live):
    import requests

    user, account = customer_who_logs_in("dora@example.test", name="Dora Kunde", country="DE")
    _placed, invoice = order(user, account, shop.web, method="stripe")
    db.session.commit()
    browser = requests.Session()
    login = browser.get(f"{live}/login").text
    browser.post(f"{live}/login", data={"login": user.email, "password": "correct horse battery",
                                        "csrf_token": csrf_token(login)})

    started = browser.post(f"{live}/billing/invoices/{invoice.id}/pay/stripe",
                           data={"csrf_token": csrf_token(browser.get(f"{live}/").text)}, allow_redirects=False)
    assert started.status_code == 200
    [session] = fake.sessions.values()
    assert started.headers["Refresh"] == f"0; url={session['url']}" and session["url"] in started.text
    assert session["success_url"] == (f"{live}/billing/invoices/{invoice.id}/payment/stripe"
                                      "?session_id={CHECKOUT_SESSION_ID}")

    back = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
    waiting = browser.get(back)
    assert "being confirmed" in waiting.text and waiting.headers["Refresh"] == "5"
    fake.deliver_all(fake.pay(session["id"]))
    assert "Payment received" in browser.get(back).text
    assert "Payment cancelled" not in browser.get(session["cancel_url"]).text


def test_the_return_page_is_the_invoices_customers_only(app, client, shop, fake):
    user, account = customer_who_logs_in("dora@example.test")
    _placed, theirs = order(shop.carla, shop.carla_account, shop.web, method="stripe")
    _placed, mine = order(user, account, shop.web, method="stripe")
    log_in(client, user.email)

    assert client.get(f"/billing/invoices/{theirs.id}/payment/stripe").status_code == 404
    assert client.get(f"/billing/invoices/{mine.id}/payment/nonesuch").status_code == 404
    cancelled = client.get(f"/billing/invoices/{mine.id}/payment/stripe?cancelled=1")
    assert cancelled.status_code == 200 and "Payment cancelled" in cancelled.get_data(as_text=True)
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post(f"/billing/invoices/{theirs.id}/pay/stripe", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/billing/invoices/{mine.id}/pay/stripe").status_code == 400  # no CSRF token
    assert fake.requests == []
