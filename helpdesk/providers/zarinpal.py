"""The Zarinpal adapter for invoices in IRR (REST API v4): request a payment (an authority), send the customer to
StartPay, and when they come back (or when reconciliation finds a payment nobody confirmed) verify it with Zarinpal
for the amount WE stored. The callback's parameters are never believed: only Zarinpal's answer to our verify call
settles an attempt. Amounts go in rials with currency "IRR" (the API also takes tomans as "IRT"; we keep one unit).
The merchant id comes from configuration and never reaches a log or an exception message."""
import logging

from flask import current_app
from flask_babel import force_locale, gettext

from helpdesk.billing import gateways
from helpdesk.billing.errors import AmountMismatch, InvoiceNotPayable
from helpdesk.errors import NotFound

log = logging.getLogger(__name__)

NAME = "zarinpal"
CURRENCY = "IRR"
# data.code of a successful request or verify, and of a verify of a payment verified before.
PAID, ALREADY_VERIFIED = 100, 101
# Verify's codes for "not paid" (-51: the payment failed or was cancelled) and "another amount" (-50).
NOT_PAID, OTHER_AMOUNT = -51, -50


class ZarinpalError(gateways.GatewayError):
    """Zarinpal answered with an error code (``code``) or could not be reached (``code`` None)."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def _config(key):
    return current_app.config[key]


def _call(path: str, body: dict) -> dict:
    """POST ``body`` (with our merchant id) as JSON to Zarinpal; the answer's ``data`` object. ZarinpalError for an
    error code, an unreadable answer or no answer (its message names the path and the code, nothing we sent)."""
    import requests  # loaded by the first call to a provider, not at every process start

    url = _config("ZARINPAL_API_BASE").rstrip("/") + path
    try:
        response = requests.post(url, json={"merchant_id": _config("ZARINPAL_MERCHANT_ID"), **body},
                                 headers={"Accept": "application/json"}, timeout=_config("BILLING_GATEWAY_TIMEOUT"))
        answer = response.json()
    except requests.RequestException as exc:
        raise ZarinpalError(f"zarinpal: {type(exc).__name__} on {path}") from None
    except ValueError:
        raise ZarinpalError(f"zarinpal: HTTP {response.status_code} without JSON on {path}") from None
    data = answer.get("data") if isinstance(answer, dict) else None
    if isinstance(data, dict) and isinstance(data.get("code"), int) and data["code"] in (PAID, ALREADY_VERIFIED):
        return data
    code = _error_code(answer)
    raise ZarinpalError(f"zarinpal: code {code} (HTTP {response.status_code}) on {path}", code=code)


def _error_code(answer):
    # An error comes as {"data": [], "errors": {"code": -9, "message": ...}}; a refusal may come in "data" too.
    for part in (answer.get("errors"), answer.get("data")) if isinstance(answer, dict) else ():
        if isinstance(part, dict) and isinstance(part.get("code"), int):
            return part["code"]
    return None


def start_pay_url(authority: str) -> str:
    """Zarinpal's payment page for ``authority``."""
    return f"{_config('ZARINPAL_API_BASE').rstrip('/')}/pg/StartPay/{authority}"


class ZarinpalGateway:
    """Zarinpal behind the PaymentGateway interface, with the verify and reconciliation steps its protocol needs."""

    name = NAME

    def supports(self, currency: str) -> bool:
        return currency == CURRENCY

    def start_checkout(self, request: gateways.CheckoutRequest) -> gateways.CheckoutStart:
        with force_locale((request.language or "fa").split("_")[0]):
            description = gettext("Invoice %(name)s", name=request.invoice_name)
        metadata = {"order_id": str(request.attempt_id)}
        if request.customer_email:
            metadata["email"] = request.customer_email
        data = _call("/pg/v4/payment/request.json", {
            "amount": request.amount, "currency": CURRENCY, "callback_url": request.return_url,
            "description": description, "metadata": metadata})
        authority = str(data.get("authority") or "")
        if not authority:
            raise ZarinpalError("zarinpal: request answered without an authority")
        return gateways.CheckoutStart(redirect_url=start_pay_url(authority), provider_reference=authority)

    def reconcile(self) -> int:
        """Book payments Zarinpal took but nobody verified (the customer closed the window before the callback):
        each authority its unVerified list names that is one of our attempts not yet paid is verified for OUR
        amount. Returns how many were booked. Safe to run in several processes at once."""
        data = _call("/pg/v4/payment/unVerified.json", {})
        listed = [item.get("authority") for item in data.get("authorities") or [] if isinstance(item, dict)]
        booked = 0
        for figures in gateways.unsettled_attempts(NAME, listed):
            try:
                booked += verify(figures) == "paid"
            except gateways.GatewayError as exc:
                log.warning("zarinpal reconciliation: verify failed", extra={"fields": {
                    "attempt": figures.id, "error": str(exc)}})
        return booked


def confirm_return(authority: str) -> tuple[str, int | None]:
    """The customer came back from Zarinpal with ``authority``: verify it (whatever the callback's Status says, and
    for our stored amount). Returns (outcome, the invoice id): outcome "paid", "failed" or "unknown" (Zarinpal could
    not say; reconciliation asks again). NotFound for an authority that is none of our attempts."""
    figures = gateways.attempt_figures(NAME, provider_reference=str(authority or "")[:200] or None)
    if figures.settled:
        return "paid", figures.invoice_id
    try:
        return verify(figures), figures.invoice_id
    except gateways.GatewayError as exc:
        log.warning("zarinpal verify failed", extra={"fields": {"attempt": figures.id, "error": str(exc)}})
        return "unknown", figures.invoice_id


def verify(figures: gateways.AttemptFigures) -> str:
    """Ask Zarinpal whether ``figures``' authority was paid, for the attempt's own amount: code 100 or 101 settles
    the attempt under the ref_id (one payment however often this runs); -51 (not paid) and -50 (another amount)
    fail it. Returns "paid" or "failed"; ZarinpalError when Zarinpal gives no answer either way."""
    try:
        data = _call("/pg/v4/payment/verify.json", {"amount": figures.amount, "authority": figures.provider_reference})
    except ZarinpalError as exc:
        if exc.code not in (NOT_PAID, OTHER_AMOUNT):
            raise
        gateways.fail_attempt(NAME, reason=f"zarinpal: verify code {exc.code}", attempt_id=figures.id)
        return "failed"
    ref_id = str(data.get("ref_id") or "")
    if not ref_id:
        raise ZarinpalError(f"zarinpal: verify code {data.get('code')} without ref_id", code=data.get("code"))
    try:
        gateways.settle_attempt(NAME, provider_payment_id=ref_id, attempt_id=figures.id)
    except (AmountMismatch, InvoiceNotPayable, NotFound) as exc:
        log.error("zarinpal payment not recorded", extra={"fields": {"attempt": figures.id, "ref_id": ref_id,
                                                                      "reason": type(exc).__name__}})
        return "failed"
    return "paid"
