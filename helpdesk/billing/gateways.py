"""The seam for card and online payment providers (Stripe, Zarinpal...): the ``PaymentGateway`` interface each
adapter implements, the registry of adapters by name (BILLING_GATEWAYS chooses which are offered), and the two
domain calls around a provider:

1. ``start_checkout(actor, invoice, gateway_name, ...)`` makes a PaymentAttempt with the amount and currency of OUR
   invoice (what is due now), commits, then asks the adapter for the provider's page (no network call inside a
   transaction), stores the provider's reference and returns the URL to send the customer to.
2. ``settle_attempt(gateway_name, ...)`` is what an adapter calls once it has VERIFIED that the provider was paid
   (a webhook whose signature it checked on the raw body, or a verify call it made itself): it records the payment
   through payments.record_payment with source = the gateway's name and external id = the provider's payment id,
   for the attempt's amount (never an amount the provider sent; a different one is refused as AmountMismatch).
   The several events a provider sends for one payment, or the same one delivered three times at once, make one
   payment: record_payment is idempotent on (source, external id)."""
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.actors import SystemActor
from helpdesk.billing.access import get_invoice
from helpdesk.billing.catalogue import default_language
from helpdesk.billing.errors import AmountMismatch, InvoiceNotPayable
from helpdesk.billing.models import (
    ATTEMPT_FAILED,
    ATTEMPT_REDIRECTED,
    ATTEMPT_STARTED,
    ATTEMPT_SUCCEEDED,
    PaymentAttempt,
)
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db

# The actor of what a gateway does (its label in the audit trail: "system:payment-gateway").
GATEWAY_ACTOR = SystemActor("payment-gateway")


@dataclass(frozen=True)
class CheckoutRequest:
    """What an adapter gets to start a checkout: our attempt and the invoice's figures, nothing to look up."""

    attempt_id: int
    invoice_id: int
    invoice_name: str  # the proforma's reference (or number)
    amount: int  # minor units of ``currency``: what the provider must collect, exactly
    currency: str
    description: str
    customer_email: str
    language: str
    return_url: str  # where the provider sends the customer back
    cancel_url: str


@dataclass(frozen=True)
class CheckoutStart:
    """The adapter's answer: the provider's page to redirect to and its own reference of the checkout (a Stripe
    Checkout Session id, a Zarinpal authority), by which its events find the attempt again."""

    redirect_url: str
    provider_reference: str


class GatewayError(Exception):
    """The provider could not be reached or refused: the attempt fails, the customer may try again. The message is
    for logs and must not carry secrets."""


@runtime_checkable
class PaymentGateway(Protocol):
    """A payment provider's adapter. ``name`` is its payment source ("stripe", "zarinpal"): the key under which its
    payments are recorded and the name in BILLING_GATEWAYS. Adapters verify what providers say (signatures, verify
    calls) before they call ``settle_attempt``; they never import the database or record payments themselves."""

    name: str

    def supports(self, currency: str) -> bool:
        """Whether the provider collects ``currency``."""

    def start_checkout(self, request: CheckoutRequest) -> CheckoutStart:
        """Create the provider's checkout for ``request`` (a network call; raises GatewayError)."""


_GATEWAYS: dict[str, PaymentGateway] = {}


def register_gateway(gateway: PaymentGateway) -> None:
    """Make an adapter available under its name (adapters register in billing's init_app or their own)."""
    _GATEWAYS[gateway.name] = gateway


def get_gateway(name: str) -> PaymentGateway:
    """The registered and enabled (BILLING_GATEWAYS) adapter ``name``; NotFound otherwise."""
    if name not in current_app.config["BILLING_GATEWAYS"] or name not in _GATEWAYS:
        raise NotFound()
    return _GATEWAYS[name]


def enabled_gateways(currency: str | None = None) -> list[PaymentGateway]:
    """The adapters BILLING_GATEWAYS offers, in its order, that collect ``currency`` (any, when None)."""
    return [_GATEWAYS[name] for name in current_app.config["BILLING_GATEWAYS"]
            if name in _GATEWAYS and (currency is None or _GATEWAYS[name].supports(currency))]


def start_checkout(actor, invoice, gateway_name: str, *, return_url: str, cancel_url: str):
    """Start paying what is due on ``invoice`` at gateway ``gateway_name``: (the PaymentAttempt, the URL to redirect
    the customer to). The invoice's customer (or staff); NotFound for another's invoice, InvoiceNotPayable when
    nothing is due. A provider failure marks the attempt failed and raises GatewayError. Commits twice: the attempt
    before the provider is called, its reference after."""
    invoice = get_invoice(actor, getattr(invoice, "id", invoice))
    if not (actor.is_customer or actor.is_system or actor.is_agent):
        raise NotAllowed()
    gateway = get_gateway(gateway_name)
    if invoice.balance_due <= 0 or not gateway.supports(invoice.currency):
        raise InvoiceNotPayable()
    begin_write(db.session)
    attempt = PaymentAttempt(invoice_id=invoice.id, account_id=invoice.account_id, gateway=gateway.name,
                             amount=invoice.balance_due, currency=invoice.currency, status=ATTEMPT_STARTED)
    db.session.add(attempt)
    audit.record(actor, "billing-invoice", invoice.id, "checkout-started",
                 {"attempt": attempt, "gateway": gateway.name, "amount": attempt.amount, "currency": attempt.currency})
    commit_service_call(db.session)
    request = CheckoutRequest(attempt_id=attempt.id, invoice_id=invoice.id, invoice_name=invoice.name,
                              amount=attempt.amount, currency=attempt.currency,
                              description=invoice.name, customer_email=invoice.buyer_email,
                              language=invoice.language or default_language(), return_url=return_url,
                              cancel_url=cancel_url)
    try:
        started = gateway.start_checkout(request)
    except GatewayError as exc:
        _set_status(attempt.id, ATTEMPT_FAILED, failure=str(exc)[:500])
        raise
    _set_status(attempt.id, ATTEMPT_REDIRECTED, provider_reference=started.provider_reference)
    return attempt, started.redirect_url


def _set_status(attempt_id, status, *, provider_reference=None, failure=None):
    begin_write(db.session)
    attempt = db.session.get(PaymentAttempt, attempt_id, with_for_update=True, populate_existing=True)
    if attempt.status != ATTEMPT_SUCCEEDED:  # a verified payment is never undone by a late failure
        attempt.status = status
    if provider_reference is not None:
        attempt.provider_reference = provider_reference
    if failure is not None:
        attempt.failure = failure
    attempt.updated_at = utcnow()
    commit_service_call(db.session)
    return attempt


def find_attempt(gateway_name: str, *, attempt_id=None, provider_reference=None) -> PaymentAttempt:
    """The attempt at ``gateway_name`` by our id (carried in the provider's metadata) or the provider's reference."""
    query = sa.select(PaymentAttempt).where(PaymentAttempt.gateway == gateway_name)
    if attempt_id is not None:
        query = query.where(PaymentAttempt.id == attempt_id)
    elif provider_reference:
        query = query.where(PaymentAttempt.provider_reference == provider_reference)
    else:
        raise NotFound()
    attempt = db.session.scalar(query)
    if attempt is None:
        raise NotFound()
    return attempt


def settle_attempt(gateway_name: str, *, provider_payment_id: str, attempt_id=None, provider_reference=None,
                   paid_amount: int | None = None, paid_currency: str | None = None):
    """An adapter verified that the provider collected an attempt's payment: record it (record_payment, source the
    gateway's name, external id ``provider_payment_id``) for the ATTEMPT's amount and currency, and mark the attempt
    succeeded. ``paid_amount``/``paid_currency``, when the provider reports them, must equal the attempt's
    (AmountMismatch otherwise, and the attempt fails). Idempotent: the same payment id again returns the first
    Payment. Runs as the gateway (system) actor. Commits; returns the Payment."""
    from helpdesk.billing.payments import record_payment

    begin_write(db.session)  # before the first read: SQLite refuses a write in a read transaction gone stale
    attempt = find_attempt(gateway_name, attempt_id=attempt_id, provider_reference=provider_reference)
    if (paid_amount is not None and paid_amount != attempt.amount) or (
            paid_currency is not None and paid_currency.upper() != attempt.currency):
        _set_status(attempt.id, ATTEMPT_FAILED, failure=f"provider reported {paid_amount} {paid_currency}")
        raise AmountMismatch()
    # Read before record_payment commits: reading the expired attempt afterwards would start a read transaction
    # that _set_status could not turn into a write on SQLite once another delivery has written.
    attempt_id, settled = attempt.id, attempt.status == ATTEMPT_SUCCEEDED
    payment = record_payment(GATEWAY_ACTOR, invoice=attempt.invoice_id, amount=attempt.amount,
                             currency=attempt.currency, source=gateway_name, external_id=provider_payment_id,
                             attempt=attempt)
    if not settled:
        _set_status(attempt_id, ATTEMPT_SUCCEEDED)
    return payment


def fail_attempt(gateway_name: str, *, reason: str, attempt_id=None, provider_reference=None) -> PaymentAttempt:
    """An adapter learnt that an attempt will not be paid (cancelled, declined, expired): mark it failed (never
    one that already succeeded). Commits."""
    begin_write(db.session)
    attempt = find_attempt(gateway_name, attempt_id=attempt_id, provider_reference=provider_reference)
    return _set_status(attempt.id, ATTEMPT_FAILED, failure=(reason or "")[:500])


def attempts_to_reconcile(gateway_name: str, *, older_than, limit=100) -> list[PaymentAttempt]:
    """Attempts at ``gateway_name`` redirected before ``older_than`` and neither paid nor failed: what a
    reconciliation job asks the provider about (paid but never verified, e.g. the customer closed the window)."""
    return db.session.scalars(sa.select(PaymentAttempt).where(
        PaymentAttempt.gateway == gateway_name, PaymentAttempt.status == ATTEMPT_REDIRECTED,
        PaymentAttempt.updated_at < older_than).order_by(PaymentAttempt.id).limit(limit)).all()


# --------------------------------------------------------------------------- reads for adapters that verify

@dataclass(frozen=True)
class AttemptFigures:
    """An attempt as an adapter needs it to ask its provider (our amount and currency, the provider's reference),
    read in a transaction that has ended: nothing is held over the adapter's network call."""

    id: int
    invoice_id: int
    amount: int
    currency: str
    status: str
    provider_reference: str | None

    @property
    def settled(self) -> bool:
        return self.status == ATTEMPT_SUCCEEDED


def _figures(attempt) -> AttemptFigures:
    return AttemptFigures(id=attempt.id, invoice_id=attempt.invoice_id, amount=attempt.amount,
                          currency=attempt.currency, status=attempt.status,
                          provider_reference=attempt.provider_reference)


def attempt_figures(gateway_name: str, *, attempt_id=None, provider_reference=None) -> AttemptFigures:
    """The attempt at ``gateway_name`` by our id or the provider's reference (NotFound otherwise), for an adapter
    about to verify it with its provider (Zarinpal's verify takes OUR amount). Ends the read transaction."""
    figures = _figures(find_attempt(gateway_name, attempt_id=attempt_id, provider_reference=provider_reference))
    db.session.rollback()
    return figures


def unsettled_attempts(gateway_name: str, provider_references) -> list[AttemptFigures]:
    """Of ``provider_references`` (what a provider lists as paid but not yet confirmed), the attempts at
    ``gateway_name`` not recorded as paid: redirected, or failed (a customer who came back with a failure may
    have paid after all). Unknown references are left out. Ends the read transaction."""
    references = [str(reference) for reference in provider_references if reference][:1000]
    if not references:
        return []
    rows = db.session.scalars(sa.select(PaymentAttempt).where(
        PaymentAttempt.gateway == gateway_name, PaymentAttempt.provider_reference.in_(references),
        PaymentAttempt.status != ATTEMPT_SUCCEEDED).order_by(PaymentAttempt.id)).all()
    figures = [_figures(row) for row in rows]
    db.session.rollback()
    return figures


def attempt_for_return(actor, invoice_id, gateway_name: str, *, provider_reference=None):
    """For the page a customer comes back to from ``gateway_name``: (the invoice, its attempt there with
    ``provider_reference``, else its latest there, or None). NotFound for an invoice ``actor`` may not see."""
    invoice = get_invoice(actor, invoice_id)
    query = sa.select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice.id,
                                            PaymentAttempt.gateway == gateway_name)
    if provider_reference:
        query = query.where(PaymentAttempt.provider_reference == str(provider_reference)[:200])
    return invoice, db.session.scalar(query.order_by(PaymentAttempt.id.desc()).limit(1))
