"""The payment-gateway seam: a checkout starts an attempt with OUR invoice's amount and currency; an adapter that
verified the provider's word settles the attempt through record_payment for the attempt's amount (a different amount
reported by the provider is refused); the same provider event delivered three times at once is one payment and one
activation. The adapter here is an in-process stand-in; the real adapters are tested against fakes of the providers'
HTTP APIs."""
import pytest
import sqlalchemy as sa

from helpdesk.audit.models import AuditEvent
from helpdesk.billing import gateways, orders
from helpdesk.billing.errors import AmountMismatch, InvoiceNotPayable
from helpdesk.billing.models import (
    ATTEMPT_FAILED,
    ATTEMPT_REDIRECTED,
    ATTEMPT_SUCCEEDED,
    FINAL,
    Invoice,
    Payment,
    PaymentAttempt,
)
from helpdesk.extensions import db
from tests.integration.billing_shop import at_once, billing_app, build_shop, order


class StandInGateway:
    """Takes EUR and TRY; hands out a provider reference per attempt, or fails when told to."""

    name = "standin"

    def __init__(self):
        self.requests, self.fail = [], False

    def supports(self, currency):
        return currency in ("EUR", "TRY")

    def start_checkout(self, request):
        if self.fail:
            raise gateways.GatewayError("provider answered 503")
        self.requests.append(request)
        return gateways.CheckoutStart(redirect_url=f"https://pay.example.test/c/{request.attempt_id}",
                                      provider_reference=f"cs_{request.attempt_id}")


@pytest.fixture
def gateway():
    stand_in = StandInGateway()
    gateways.register_gateway(stand_in)
    return stand_in


@pytest.fixture
def app(app_factory, gateway):
    yield from billing_app(app_factory, BILLING_GATEWAYS=["standin"])


@pytest.fixture
def shop(app):
    return build_shop()


def test_the_gateway_is_offered_for_the_currencies_it_takes(shop):
    assert "standin" in orders.payment_methods("EUR") and "standin" not in orders.payment_methods("HUF")


def test_checkout_copies_our_amount_and_settling_records_it_once(shop, gateway):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web, method="standin")
    attempt, url = gateways.start_checkout(shop.carla, invoice, "standin", return_url="https://desk/return",
                                           cancel_url="https://desk/cancel")
    assert url == f"https://pay.example.test/c/{attempt.id}"
    request = gateway.requests[0]
    assert (request.amount, request.currency, request.invoice_name) == (invoice.total, "EUR", invoice.reference)
    db.session.refresh(attempt)
    assert attempt.status == ATTEMPT_REDIRECTED and attempt.provider_reference == f"cs_{attempt.id}"

    first = gateways.settle_attempt("standin", provider_reference=f"cs_{attempt.id}", provider_payment_id="pi_1",
                                    paid_amount=invoice.total, paid_currency="eur")
    second = gateways.settle_attempt("standin", attempt_id=attempt.id, provider_payment_id="pi_1")

    assert first.id == second.id and first.source == "standin" and first.attempt_id == attempt.id
    db.session.refresh(invoice)
    db.session.refresh(attempt)
    assert invoice.status == FINAL and attempt.status == ATTEMPT_SUCCEEDED
    assert placed.services[0].status == "active"


def test_an_amount_the_provider_reports_differently_is_refused(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web, method="standin")
    attempt, _url = gateways.start_checkout(shop.carla, invoice, "standin", return_url="r", cancel_url="c")
    with pytest.raises(AmountMismatch):
        gateways.settle_attempt("standin", attempt_id=attempt.id, provider_payment_id="pi_2", paid_amount=1)
    db.session.refresh(attempt)
    assert attempt.status == ATTEMPT_FAILED and db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


def test_a_provider_failure_fails_the_attempt_and_nothing_is_due_after_payment(shop, gateway):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web, method="standin")
    gateway.fail = True
    with pytest.raises(gateways.GatewayError):
        gateways.start_checkout(shop.carla, invoice, "standin", return_url="r", cancel_url="c")
    assert db.session.scalar(sa.select(PaymentAttempt.status)) == ATTEMPT_FAILED
    gateway.fail = False
    attempt, _url = gateways.start_checkout(shop.carla, invoice, "standin", return_url="r", cancel_url="c")
    gateways.settle_attempt("standin", attempt_id=attempt.id, provider_payment_id="pi_3")
    with pytest.raises(InvoiceNotPayable):
        gateways.start_checkout(shop.carla, invoice, "standin", return_url="r", cancel_url="c")


def test_the_same_event_three_times_at_once_is_one_payment_and_one_activation(shop, app, backend):
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    placed, invoice = order(shop.carla, shop.carla_account, shop.start, method="standin")
    attempt, _url = gateways.start_checkout(shop.carla, invoice, "standin", return_url="r", cancel_url="c")
    attempt_id, invoice_id = attempt.id, invoice.id
    service_ids = [s.id for s in placed.services]
    db.session.commit()

    results, errors = at_once(app, 3, lambda _i: gateways.settle_attempt(
        "standin", provider_reference=f"cs_{attempt_id}", provider_payment_id="pi_same").id)

    assert errors == [] and len(set(results)) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1
    assert db.session.get(Invoice, invoice_id).status == FINAL
    activations = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "activated", AuditEvent.entity == "billing-service"))
    assert activations == len(service_ids) == 2
    assert db.session.get(PaymentAttempt, attempt_id).status == ATTEMPT_SUCCEEDED


def test_a_card_gateway_offered_without_its_credentials_stops_the_start_naming_the_settings(app_factory):
    from helpdesk.settings import ConfigurationError

    with pytest.raises(ConfigurationError) as refused:
        app_factory(BILLING_GATEWAYS=["stripe", "zarinpal"], STRIPE_SECRET_KEY="sk_test_given")
    said = str(refused.value)
    assert "HELPDESK_STRIPE_WEBHOOK_SECRET" in said and "HELPDESK_ZARINPAL_MERCHANT_ID" in said
    assert "HELPDESK_STRIPE_SECRET_KEY" not in said and "sk_test_given" not in said
