"""Card payment routes: "pay this invoice at a gateway" (to the provider's page), the pages customers come back to
(payment received, being confirmed, failed), Stripe's webhook (authenticated by its signature alone: no session, no
CSRF token) and Zarinpal's callback (which believes nothing it is told: the adapter verifies with Zarinpal)."""
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required

from helpdesk.billing import gateways
from helpdesk.billing.models import ATTEMPT_FAILED, ATTEMPT_SUCCEEDED
from helpdesk.extensions import csrf, limiter
from helpdesk.providers import stripe as stripe_gateway
from helpdesk.providers import zarinpal as zarinpal_gateway
from helpdesk.web.guards import current_actor

bp = Blueprint("payment_gateways", __name__)

# Gateways that send the customer back to a callback of their own, which verifies before showing the result.
_CALLBACKS = {zarinpal_gateway.NAME: "payment_gateways.zarinpal_callback"}


def invoice_url(invoice_id) -> str:
    """The customer's page of the invoice (web/billing.py)."""
    return url_for("billing.invoice", invoice_id=invoice_id)


def checkout_urls(gateway_name: str, invoice_id: int) -> tuple[str, str]:
    """(return_url, cancel_url) for gateways.start_checkout: where the provider sends the customer back."""
    result = url_for("payment_gateways.returned", invoice_id=invoice_id, gateway=gateway_name, _external=True)
    back = url_for(_CALLBACKS[gateway_name], _external=True) if gateway_name in _CALLBACKS else result
    return back, url_for("payment_gateways.returned", invoice_id=invoice_id, gateway=gateway_name, cancelled=1,
                         _external=True)


@bp.route("/billing/invoices/<id:invoice_id>/pay/<gateway>", methods=["POST"])
@login_required
@limiter.limit("10 per minute")
def pay(invoice_id, gateway):
    """Start paying the invoice at ``gateway`` and send the browser to the provider's page: by a page that refreshes
    there rather than a redirect, which the invoice page's form-action 'self' policy would stop at another origin."""
    return_url, cancel_url = checkout_urls(gateway, invoice_id)
    try:
        _attempt, target = gateways.start_checkout(current_actor(), invoice_id, gateway, return_url=return_url,
                                                   cancel_url=cancel_url)
    except gateways.GatewayError:
        flash(_("The payment provider could not be reached. Nothing was charged; please try again in a few "
                "minutes."), "error")
        return redirect(invoice_url(invoice_id))
    if not target.startswith(("https://", "http://")):
        abort(502)
    response = make_response(render_template("payment_gateways/redirect.html", target=target))
    response.headers["Refresh"] = f"0; url={target}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/billing/invoices/<id:invoice_id>/payment/<gateway>", methods=["GET", "POST"])
@csrf.exempt  # a provider may send the customer back with a POST; the page only reads
@login_required
def returned(invoice_id, gateway):
    """Where the customer lands after the provider's page: received, being confirmed (the page looks again by
    itself), failed, or cancelled; with a link to the invoice."""
    gateways.get_gateway(gateway)  # NotFound for a gateway that is not offered
    reference = request.values.get("session_id") or request.values.get("reference")
    invoice, attempt = gateways.attempt_for_return(current_actor(), invoice_id, gateway,
                                                   provider_reference=reference)
    if (attempt is not None and attempt.status == ATTEMPT_SUCCEEDED) or invoice.balance_due <= 0:
        state = "received"
    elif attempt is not None and attempt.status == ATTEMPT_FAILED:
        state = "failed"
    elif request.values.get("cancelled"):
        state = "cancelled"
    else:
        state = "pending"
    response = make_response(render_template("payment_gateways/return.html", state=state, invoice=invoice,
                                             invoice_url=invoice_url(invoice.id)))
    if state == "pending":
        response.headers["Refresh"] = "5"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/billing/webhooks/stripe", methods=["POST"])
@csrf.exempt  # Stripe authenticates by the signature on the body
@limiter.limit(lambda: current_app.config["BILLING_WEBHOOK_RATE_LIMIT"])
def stripe_webhook():
    """Stripe's events: 400 when the signature does not hold (Stripe retries; a forger learns nothing), 200 for
    every event believed, whether it recorded a payment, repeated one already recorded, or concerned nothing ours."""
    try:
        outcome = stripe_gateway.handle_webhook(request.get_data(cache=False),
                                                request.headers.get("Stripe-Signature", ""))
    except stripe_gateway.SignatureInvalid:
        return jsonify(error="invalid signature"), 400
    return jsonify(received=True, outcome=outcome)


@bp.route("/billing/gateways/zarinpal/callback")
@limiter.limit(lambda: current_app.config["BILLING_CALLBACK_RATE_LIMIT"])
def zarinpal_callback():
    """Zarinpal sends the customer back with ?Authority=...&Status=OK|NOK. Whatever they say, the adapter asks
    Zarinpal (verify, for our stored amount) before anything is recorded; then the result page."""
    authority = request.args.get("Authority", "")
    _outcome, invoice_id = zarinpal_gateway.confirm_return(authority)
    return redirect(url_for(".returned", invoice_id=invoice_id, gateway=zarinpal_gateway.NAME, reference=authority))
