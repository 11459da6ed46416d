"""Zarinpal against a fake of its v4 API on loopback: the payment is requested in rials for OUR amount, the customer
comes back to a callback whose parameters are never believed (we verify with Zarinpal for the amount we stored, and
Zarinpal refuses another one), a callback replayed (also at once) is one payment, and reconciliation books a payment
Zarinpal took but nobody verified, once, from the periodic sweep and from `helpdesk billing reconcile`."""
import logging

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
from helpdesk.billing.reconciliation import reconcile_gateways
from helpdesk.extensions import db
from helpdesk.jobs import run_task
from tests.conftest import csrf_token, log_in
from tests.fakes.zarinpal_api import MERCHANT_ID, FakeZarinpal
from tests.integration.billing_shop import at_once, billing_app, build_shop, order
from tests.integration.card_gateways import activations, customer_who_logs_in, fresh, payments, serve

# The Zarinpal adapter against its fake; record_payment behind it is tested on both databases.
pytestmark = pytest.mark.backends("postgresql")


CALLBACK = "http://helpdesk.example.test/billing/gateways/zarinpal/callback"


@pytest.fixture
def fake():
    zarinpal = FakeZarinpal().start()
    yield zarinpal
    zarinpal.stop()


@pytest.fixture
def app(app_factory, fake):
    yield from billing_app(app_factory, BILLING_GATEWAYS=["stripe", "zarinpal"], ZARINPAL_API_BASE=fake.url,
                           ZARINPAL_MERCHANT_ID=MERCHANT_ID, BILLING_GATEWAY_TIMEOUT=1,
                           STRIPE_SECRET_KEY="sk_test_never_called", STRIPE_WEBHOOK_SECRET="whsec_never_called")


@pytest.fixture
def shop(app):
    return build_shop()


def checkout(shop, product=None, callback=CALLBACK):
    """Carla orders ``product`` in rials to pay at Zarinpal and is sent there: (order, invoice, attempt, URL)."""
    placed, invoice = order(shop.carla, shop.carla_account, product or shop.contract, cycle="yearly",
                            currency="IRR", method="zarinpal")
    attempt, url = gateways.start_checkout(shop.carla, invoice, "zarinpal", return_url=callback,
                                           cancel_url="http://helpdesk.example.test/cancelled")
    db.session.commit()
    return placed, invoice, attempt, url


def attempt_status(attempt_id):
    fresh()
    return db.session.get(PaymentAttempt, attempt_id).status


def callback_path(fake, authority, ok=True, **extra):
    return fake.callback_url(authority, ok, **extra).removeprefix("http://helpdesk.example.test")


# --------------------------------------------------------------------------- offering and requesting

def test_zarinpal_is_offered_for_rials_only(shop):
    assert "zarinpal" in orders.payment_methods("IRR") and "stripe" not in orders.payment_methods("IRR")
    assert "zarinpal" not in orders.payment_methods("EUR")
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    with pytest.raises(InvoiceNotPayable):
        gateways.start_checkout(shop.carla, invoice, "zarinpal", return_url=CALLBACK, cancel_url=CALLBACK)


def test_the_payment_is_requested_in_rials_for_our_amount(shop, fake):
    _placed, invoice, attempt, url = checkout(shop)

    [sent] = fake.requests
    assert sent["path"] == "request" and sent["content_type"] == "application/json"
    body = sent["body"]
    assert body["merchant_id"] == MERCHANT_ID and body["amount"] == invoice.total and body["currency"] == "IRR"
    assert body["callback_url"] == CALLBACK and body["description"] == f"Invoice {invoice.name}"
    assert body["metadata"] == {"order_id": str(attempt.id), "email": "carla@example.test"}
    [authority] = fake.authorities
    assert url == f"{fake.url}/pg/StartPay/{authority}"
    db.session.refresh(attempt)
    assert attempt.status == ATTEMPT_REDIRECTED and attempt.provider_reference == authority


@pytest.mark.parametrize("failure", [502, "timeout", "merchant"])
def test_a_refused_or_unreachable_request_fails_the_attempt(shop, fake, failure):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.contract, cycle="yearly", currency="IRR",
                             method="zarinpal")
    if failure == "merchant":
        fake.merchant_id = "another-merchant"
    else:
        fake.failures = [failure]
    with pytest.raises(gateways.GatewayError) as refused:
        gateways.start_checkout(shop.carla, invoice, "zarinpal", return_url=CALLBACK, cancel_url=CALLBACK)
    assert MERCHANT_ID not in str(refused.value)
    assert db.session.scalar(sa.select(PaymentAttempt.status)) == ATTEMPT_FAILED


# --------------------------------------------------------------------------- the callback

def test_the_callback_verifies_our_amount_and_records_one_payment(shop, fake, client):
    placed, invoice, attempt, _url = checkout(shop)
    [authority] = fake.authorities
    fake.pay(authority)

    response = client.get(callback_path(fake, authority))

    assert response.status_code == 302
    assert response.headers["Location"] == (f"/billing/invoices/{invoice.id}/payment/zarinpal"
                                            f"?reference={authority}")
    [verify] = fake.verify_requests()
    assert verify == {"merchant_id": MERCHANT_ID, "amount": invoice.total, "authority": authority}
    [payment] = payments()
    assert payment.source == "zarinpal" and payment.external_id == str(fake.authorities[authority]["ref_id"])
    assert (payment.amount, payment.currency) == (invoice.total, "IRR")
    assert db.session.get(Invoice, invoice.id).status == FINAL and attempt_status(attempt.id) == ATTEMPT_SUCCEEDED
    assert activations() == len(placed.services)


def test_an_amount_added_to_the_callback_changes_nothing_we_verify(shop, fake, client):
    _placed, invoice, _attempt, _url = checkout(shop)
    [authority] = fake.authorities
    fake.pay(authority)

    client.get(callback_path(fake, authority, Amount=10_000, amount=10_000))

    [verify] = fake.verify_requests()
    assert verify["amount"] == invoice.total
    [payment] = payments()
    assert payment.amount == invoice.total


def test_zarinpal_refuses_our_verify_when_the_payment_was_for_another_amount(shop, fake, client):
    _placed, invoice, attempt, _url = checkout(shop)
    [authority] = fake.authorities
    fake.authorities[authority]["amount"] = 10_000  # what the customer actually paid at Zarinpal
    fake.pay(authority)

    page = client.get(callback_path(fake, authority, Amount=10_000), follow_redirects=False)

    assert page.status_code == 302 and fake.verify_requests()[0]["amount"] == invoice.total
    assert payments() == [] and attempt_status(attempt.id) == ATTEMPT_FAILED
    assert db.session.get(Invoice, invoice.id).status == PROFORMA


def test_a_replayed_callback_is_one_payment(shop, fake, client):
    placed, _invoice, _attempt, _url = checkout(shop)
    [authority] = fake.authorities
    fake.pay(authority)

    for _ in range(3):
        assert client.get(callback_path(fake, authority)).status_code == 302

    assert len(payments()) == 1 and activations() == len(placed.services)


def test_the_same_callback_three_times_at_once_is_one_payment_and_one_activation(app, shop, fake):
    import requests

    placed, invoice, _attempt, _url = checkout(shop, product=shop.contract)
    [authority] = fake.authorities
    fake.pay(authority)
    server = serve(app)
    try:
        results, errors = at_once(app, 3, lambda _i: requests.get(
            server.url + callback_path(fake, authority), allow_redirects=False, timeout=30).status_code)
    finally:
        server.stop()

    assert errors == [] and results == [302, 302, 302]
    assert len(payments()) == 1 and activations() == len(placed.services)
    assert db.session.get(Invoice, invoice.id).status == FINAL


def test_a_cancelled_payment_fails_the_attempt_even_when_the_callback_says_ok(shop, fake, client):
    _placed, _invoice, attempt, _url = checkout(shop)
    [authority] = fake.authorities
    fake.cancel(authority)

    client.get(callback_path(fake, authority, ok=True))

    assert payments() == [] and attempt_status(attempt.id) == ATTEMPT_FAILED


def test_a_paid_payment_is_recorded_even_when_the_callback_says_nok(shop, fake, client):
    _placed, _invoice, _attempt, _url = checkout(shop)
    [authority] = fake.authorities
    fake.pay(authority)

    client.get(callback_path(fake, authority, ok=False))

    assert len(payments()) == 1


def test_an_unknown_authority_is_not_found(shop, fake, client):
    assert client.get("/billing/gateways/zarinpal/callback?Authority=A0000000000000000000000000000000&Status=OK"
                      ).status_code == 404
    assert client.get("/billing/gateways/zarinpal/callback").status_code == 404
    assert fake.verify_requests() == []


# --------------------------------------------------------------------------- reconciliation

def test_reconciliation_books_a_paid_but_unverified_payment_once(shop, fake):
    placed, invoice, attempt, _url = checkout(shop)
    _other, unpaid, unpaid_attempt, _url = checkout(shop, product=shop.web)
    paid_authority = db.session.get(PaymentAttempt, attempt.id).provider_reference
    fake.pay(paid_authority)  # the customer paid and closed the window: no callback

    assert reconcile_gateways() == {"zarinpal": 1}
    assert reconcile_gateways() == {"zarinpal": 0}

    [payment] = payments()
    assert payment.invoice_id == invoice.id and payment.amount == invoice.total
    assert [entry["body"]["amount"] for entry in fake.requests if entry["path"] == "verify"] == [invoice.total]
    assert attempt_status(attempt.id) == ATTEMPT_SUCCEEDED and attempt_status(unpaid_attempt.id) == ATTEMPT_REDIRECTED
    assert db.session.get(Invoice, unpaid.id).status == PROFORMA and activations() == len(placed.services)


def test_reconciliation_after_a_callback_zarinpal_could_not_answer(shop, fake, client):
    _placed, invoice, attempt, _url = checkout(shop)
    [authority] = fake.authorities
    fake.pay(authority)
    fake.failures = [502]

    client.get(callback_path(fake, authority))
    assert payments() == [] and attempt_status(attempt.id) == ATTEMPT_REDIRECTED

    assert run_task("helpdesk.billing.reconciliation.reconcile_gateways") == {"zarinpal": 1}  # the periodic job
    assert len(payments()) == 1 and db.session.get(Invoice, invoice.id).status == FINAL


def test_two_reconciliations_at_once_book_one_payment(app, shop, fake):
    placed, _invoice, attempt, _url = checkout(shop)
    fake.pay(db.session.get(PaymentAttempt, attempt.id).provider_reference)

    results, errors = at_once(app, 2, lambda _i: reconcile_gateways()["zarinpal"])

    assert errors == [] and sorted(results) in ([0, 1], [1, 1])  # the second may verify too (101): still one
    assert len(payments()) == 1 and activations() == len(placed.services)


def test_the_reconcile_command_books_and_says_so(app, shop, fake):
    from click.testing import CliRunner

    from helpdesk.cli import main

    _placed, _invoice, attempt, _url = checkout(shop)
    fake.pay(db.session.get(PaymentAttempt, attempt.id).provider_reference)
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None, "HELPDESK_BILLING_GATEWAYS": '["zarinpal"]',
           "HELPDESK_ZARINPAL_API_BASE": fake.url, "HELPDESK_ZARINPAL_MERCHANT_ID": MERCHANT_ID}

    booked = CliRunner().invoke(main, ["billing", "reconcile"], env=env)
    assert booked.exit_code == 0, booked.output
    assert "zarinpal: 1 payment(s) booked" in booked.output and len(payments()) == 1

    fake.failures = [502]
    unreachable = CliRunner().invoke(main, ["billing", "reconcile"], env=env)
    assert unreachable.exit_code == 1 and "could not reach" in unreachable.output
    assert MERCHANT_ID not in unreachable.output


# --------------------------------------------------------------------------- pages and logs

def test_the_customer_pays_at_zarinpal_and_comes_back_to_the_invoice(app, shop, fake):
    import requests

    user, account = customer_who_logs_in("reza@example.test", name="Reza", country="IR")
    _placed, invoice = order(user, account, shop.contract, cycle="yearly", currency="IRR", method="zarinpal")
    db.session.commit()
    server = serve(app)
    try:
        browser = requests.Session()
        login = browser.get(f"{server.url}/login").text
        browser.post(f"{server.url}/login", data={"login": user.email, "password": "correct horse battery",
                                                  "csrf_token": csrf_token(login)})
        started = browser.post(f"{server.url}/billing/invoices/{invoice.id}/pay/zarinpal",
                               data={"csrf_token": csrf_token(browser.get(f"{server.url}/").text)})
        [authority] = fake.authorities
        assert started.headers["Refresh"] == f"0; url={fake.url}/pg/StartPay/{authority}"
        assert fake.authorities[authority]["callback_url"] == f"{server.url}/billing/gateways/zarinpal/callback"

        paid_page = browser.post(f"{fake.url}/pg/StartPay/{authority}", data={"pay": "1"})  # follows the callback
        assert paid_page.url.startswith(f"{server.url}/billing/invoices/{invoice.id}/payment/zarinpal")
        assert "Payment received" in paid_page.text
        assert f'href="/billing/invoices/{invoice.id}"' in paid_page.text
    finally:
        server.stop()


def test_a_cancelled_payment_says_so(app, shop, fake, client):
    user, account = customer_who_logs_in("reza@example.test")
    _placed, invoice = order(user, account, shop.contract, cycle="yearly", currency="IRR", method="zarinpal")
    gateways.start_checkout(user, invoice, "zarinpal", return_url=CALLBACK, cancel_url=CALLBACK)
    db.session.commit()
    [authority] = fake.authorities
    fake.cancel(authority)
    log_in(client, user.email)

    page = client.get(callback_path(fake, authority, ok=False), follow_redirects=True).get_data(as_text=True)

    assert "The payment did not go through" in page and "Nothing was booked" in page


def test_the_merchant_id_never_reaches_a_log(shop, fake, client, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="helpdesk")
    _placed, _invoice, _attempt, _url = checkout(shop)
    [authority] = fake.authorities
    fake.pay(authority)
    fake.failures = [502]
    client.get(callback_path(fake, authority))
    reconcile_gateways()
    fake.merchant_id = "another"
    reconcile_gateways()

    assert "zarinpal" in caplog.text and len(caplog.records) > 3
    assert MERCHANT_ID not in caplog.text and MERCHANT_ID[9:23] not in caplog.text
