"""The Stripe adapter: hosted Checkout for invoices in EUR, TRY and HUF (POST /v1/checkout/sessions), and the
webhook that tells us a session was paid, checked by its ``Stripe-Signature`` on the raw body before anything in it
is believed. Plain HTTP with ``requests`` (the stripe SDK is not a dependency); the API key and the webhook secret
come from configuration and never reach a log or an exception message.

Stripe sends several events for one payment (checkout.session.completed, payment_intent.succeeded, and for delayed
methods checkout.session.async_payment_succeeded), each possibly more than once, in parallel and out of order. All
of them settle the attempt under the same external id, the PaymentIntent's, so they make one payment."""
import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app
from flask_babel import force_locale, gettext

from helpdesk.billing import gateways
from helpdesk.billing.errors import AmountMismatch, InvoiceNotPayable
from helpdesk.errors import NotFound

log = logging.getLogger(__name__)

NAME = "stripe"
# The exponent Stripe's API uses for each currency we sell in. HUF is a two-decimal currency in Stripe's API (an
# amount of 100 is 1 Ft) although forints have no minor unit here, and Stripe takes only whole forints (amounts
# divisible by 100; stripe.com/docs/currencies, "special cases"): ours are whole forints, times 100. IRR is not
# among Stripe's currencies, so the adapter is not offered for it.
STRIPE_EXPONENT = {"EUR": 2, "TRY": 2, "HUF": 2}
# Our minor-unit digits per currency (money.MINOR_DIGITS, repeated for the three Stripe takes).
OUR_EXPONENT = {"EUR": 2, "TRY": 2, "HUF": 0}
# Languages Stripe Checkout is shown in, of ours; Persian is not one of them ("auto": the browser's).
CHECKOUT_LOCALES = frozenset({"en", "de", "tr", "hu"})
SIGNATURE_SCHEME = "v1"


class SignatureInvalid(Exception):
    """A webhook whose Stripe-Signature is missing, forged, made with another secret or too old."""


class StripeAmountError(ValueError):
    """An amount Stripe reported that is no whole number of our minor units (a HUF amount not divisible by 100)."""


def to_stripe_amount(amount: int, currency: str) -> int:
    """Our minor units of ``currency`` as Stripe's API counts them (1 234 Ft → 123400)."""
    return amount * 10 ** (STRIPE_EXPONENT[currency] - OUR_EXPONENT[currency])


def from_stripe_amount(value, currency: str) -> int:
    """An amount in Stripe's units back in our minor units; StripeAmountError when it is not a whole number of them."""
    currency = str(currency or "").upper()
    if currency not in STRIPE_EXPONENT or not isinstance(value, int) or isinstance(value, bool):
        raise StripeAmountError(f"unexpected amount {value!r} {currency}")
    quotient, remainder = divmod(value, 10 ** (STRIPE_EXPONENT[currency] - OUR_EXPONENT[currency]))
    if remainder:
        raise StripeAmountError(f"{value} {currency} is not a whole number of our units")
    return quotient


def _config(key):
    return current_app.config[key]


def success_url(return_url: str) -> str:
    """``return_url`` with Stripe's ``{CHECKOUT_SESSION_ID}`` template added, so the page knows the session."""
    parts = urlsplit(return_url)
    query = parts.query + ("&" if parts.query else "") + "session_id={CHECKOUT_SESSION_ID}"
    return urlunsplit(parts._replace(query=query))


def checkout_form(request: gateways.CheckoutRequest) -> list[tuple[str, str]]:
    """The form-encoded parameters of POST /v1/checkout/sessions for ``request``: one line of OUR amount, our
    attempt's id in the session's and the PaymentIntent's metadata (payment_intent.succeeded carries only the
    latter), the customer's language when Checkout speaks it."""
    language = (request.language or "en").split("_")[0].split("-")[0]
    with force_locale(language):
        name = gettext("Invoice %(name)s", name=request.invoice_name)
    form = [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", request.currency.lower()),
        ("line_items[0][price_data][unit_amount]", str(to_stripe_amount(request.amount, request.currency))),
        ("line_items[0][price_data][product_data][name]", name),
        ("line_items[0][quantity]", "1"),
        ("success_url", success_url(request.return_url)),
        ("cancel_url", request.cancel_url),
        ("client_reference_id", str(request.attempt_id)),
        ("metadata[attempt_id]", str(request.attempt_id)),
        ("metadata[invoice]", request.invoice_name),
        ("payment_intent_data[metadata][attempt_id]", str(request.attempt_id)),
        ("locale", language if language in CHECKOUT_LOCALES else "auto"),
    ]
    if request.customer_email:
        form.append(("customer_email", request.customer_email))
    return form


def _idempotency_key(form) -> str:
    # Stripe keeps a key for a day: a retry of this very request returns the same session, while a key reused by
    # another database (attempt ids start again) with other parameters would be refused, hence the digest.
    digest = hashlib.sha256(urlencode(form).encode()).hexdigest()[:24]
    return f"helpdesk-checkout-{dict(form)['metadata[attempt_id]']}-{digest}"


def _post(path: str, form, *, idempotency_key: str) -> dict:
    """POST ``form`` to Stripe's API; the JSON answer, or GatewayError (status and Stripe's error code only: a
    message could quote what we sent). A connection failure is retried once with the same idempotency key."""
    import requests  # loaded by the first call to a provider, not at every process start

    url = _config("STRIPE_API_BASE").rstrip("/") + path
    headers = {"Authorization": f"Bearer {_config('STRIPE_SECRET_KEY')}", "Idempotency-Key": idempotency_key}
    for attempt in (1, 2):
        try:
            response = requests.post(url, data=form, headers=headers, timeout=_config("BILLING_GATEWAY_TIMEOUT"))
            break
        except requests.RequestException as exc:
            if attempt == 2:
                raise gateways.GatewayError(f"stripe: {type(exc).__name__} on POST {path}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
        raise gateways.GatewayError(f"stripe: HTTP {response.status_code} on POST {path} "
                                    f"({error.get('type', '-')}/{error.get('code', '-')})")
    return body


class StripeGateway:
    """Stripe Checkout behind the PaymentGateway interface."""

    name = NAME

    def supports(self, currency: str) -> bool:
        return currency in STRIPE_EXPONENT

    def start_checkout(self, request: gateways.CheckoutRequest) -> gateways.CheckoutStart:
        form = checkout_form(request)
        session = _post("/v1/checkout/sessions", form, idempotency_key=_idempotency_key(form))
        if not session.get("id") or not session.get("url"):
            raise gateways.GatewayError("stripe: the checkout session came without an id or url")
        log.info("stripe checkout session created", extra={"fields": {"attempt": request.attempt_id,
                                                                        "session": session["id"]}})
        return gateways.CheckoutStart(redirect_url=session["url"], provider_reference=session["id"])


# --------------------------------------------------------------------------- webhook

def verify_signature(payload: bytes, header: str, secret: str, *, tolerance: int, now: float | None = None) -> None:
    """Check a ``Stripe-Signature`` header (``t=<unix time>,v1=<hex>[,v1=<hex>...]``) against ``payload``, the raw
    request body: one v1 must be the HMAC-SHA256 of ``"<t>.<payload>"`` under ``secret`` (compared in constant time),
    and ``t`` within ``tolerance`` seconds of now (an old delivery replayed is refused). SignatureInvalid otherwise."""
    if not secret or not header:
        raise SignatureInvalid("no signature or no secret")
    timestamp, signatures = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == SIGNATURE_SCHEME and value:
            signatures.append(value)
    if not timestamp or not timestamp.isdigit() or not signatures:
        raise SignatureInvalid("malformed signature header")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + payload, hashlib.sha256).hexdigest()
    # Every candidate is compared (no early exit) so the time taken says nothing about which one came close.
    matches = [hmac.compare_digest(expected.encode(), candidate.encode("ascii", "replace")) for candidate in signatures]
    if not any(matches):
        raise SignatureInvalid("no signature matches")
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise SignatureInvalid("timestamp outside the tolerance")


def handle_webhook(payload: bytes, signature_header: str) -> str:
    """A webhook delivery, verified, then acted on: a paid session or succeeded PaymentIntent settles its attempt
    (once, however many events and deliveries), an expired or failed session fails it. Returns what happened
    ("paid", "failed", "pending", "ignored", "refused"); SignatureInvalid when the delivery cannot be believed."""
    verify_signature(payload, signature_header, _config("STRIPE_WEBHOOK_SECRET"),
                     tolerance=_config("STRIPE_WEBHOOK_TOLERANCE"))
    try:
        event = json.loads(payload)
        kind, obj = event["type"], event["data"]["object"]
    except (ValueError, KeyError, TypeError):
        raise SignatureInvalid("signed, but not an event") from None
    handler = _HANDLERS.get(kind)
    outcome = handler(obj) if handler and isinstance(obj, dict) else "ignored"
    log.info("stripe webhook", extra={"fields": {"event": event.get("id"), "type": kind, "outcome": outcome}})
    return outcome


def _attempt_id(obj) -> int | None:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    value = str(metadata.get("attempt_id") or "")
    return int(value) if value.isdigit() else None


def _settle(obj, *, payment_id, amount, reference=None) -> str:
    attempt_id = _attempt_id(obj)
    if attempt_id is None and reference is None:
        return "ignored"  # a payment of something else on the same Stripe account
    try:
        paid = from_stripe_amount(amount, obj.get("currency"))
    except StripeAmountError as exc:
        return _refuse(attempt_id, reference, str(exc))
    try:
        gateways.settle_attempt(NAME, provider_payment_id=payment_id, attempt_id=attempt_id,
                                provider_reference=reference, paid_amount=paid, paid_currency=obj.get("currency"))
    except NotFound:
        return "ignored"
    except (AmountMismatch, InvoiceNotPayable) as exc:
        log.error("stripe payment not recorded", extra={"fields": {"attempt": attempt_id, "payment": payment_id,
                                                                    "reason": type(exc).__name__}})
        return "refused"
    return "paid"


def _refuse(attempt_id, reference, reason) -> str:
    log.error("stripe payment not recorded", extra={"fields": {"attempt": attempt_id, "reason": reason}})
    try:
        gateways.fail_attempt(NAME, reason=reason, attempt_id=attempt_id, provider_reference=reference)
    except NotFound:
        return "ignored"
    return "refused"


def _session_paid(session) -> str:
    payment_intent = session.get("payment_intent")
    if isinstance(payment_intent, dict):  # expanded
        payment_intent = payment_intent.get("id")
    if not payment_intent:
        # Without the PaymentIntent's id there is no key shared with payment_intent.succeeded; that event settles it.
        return "pending"
    return _settle(session, payment_id=str(payment_intent), amount=session.get("amount_total"),
                   reference=session.get("id"))


def _session_completed(session) -> str:
    # "unpaid": a delayed method (SEPA debit, bank transfer) whose outcome comes as async_payment_succeeded/failed.
    return _session_paid(session) if session.get("payment_status") == "paid" else "pending"


def _intent_succeeded(intent) -> str:
    if not intent.get("id"):
        return "ignored"
    return _settle(intent, payment_id=str(intent["id"]), amount=intent.get("amount_received"))


def _session_failed(session) -> str:
    attempt_id, reference = _attempt_id(session), session.get("id")
    if attempt_id is None and not reference:
        return "ignored"
    try:
        gateways.fail_attempt(NAME, reason=f"stripe: {session.get('status') or 'failed'}", attempt_id=attempt_id,
                              provider_reference=None if attempt_id else reference)
    except NotFound:
        return "ignored"
    return "failed"


_HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_paid,
    "payment_intent.succeeded": _intent_succeeded,
    "checkout.session.expired": _session_failed,
    "checkout.session.async_payment_failed": _session_failed,
}
