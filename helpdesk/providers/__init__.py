"""Adapters for outside services: the only code that speaks to a provider over the network (payment gateways
today; SMS, CRM, OpenID and RDAP next). Each adapter implements an interface its domain defines (billing's
``gateways.PaymentGateway``) and is registered with that domain here, so domain packages never import an HTTP
client or a provider (an import-linter contract keeps it so), and the doors reach a provider only through its
domain's interface, or through the adapter's own web hooks (a webhook's signature check, a return URL).

Modules: stripe (hosted Checkout and its signed webhooks), zarinpal (request, redirect, verify, reconcile)."""

MODELS = ()
# What each provider cannot work without, when BILLING_GATEWAYS offers it.
REQUIRED_SETTINGS = {"stripe": ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"), "zarinpal": ("ZARINPAL_MERCHANT_ID",)}


def init_app(app):
    """Offer the card gateways to billing (BILLING_GATEWAYS chooses which are shown): Stripe for EUR, TRY and
    HUF, Zarinpal for IRR. A gateway offered without its credentials stops the start with the settings to set
    (their names only, never a value), instead of failing at the first customer's checkout."""
    from helpdesk.settings import ConfigurationError

    missing = [f"HELPDESK_{key}" for name in app.config.get("BILLING_GATEWAYS") or ()
               for key in REQUIRED_SETTINGS.get(name, ()) if not app.config.get(key)]
    if missing:
        raise ConfigurationError(f"BILLING_GATEWAYS offers a card gateway whose settings are empty: set "
                                 f"{', '.join(missing)}")
    from helpdesk.billing.gateways import register_gateway
    from helpdesk.providers.stripe import StripeGateway
    from helpdesk.providers.zarinpal import ZarinpalGateway

    register_gateway(StripeGateway())
    register_gateway(ZarinpalGateway())
