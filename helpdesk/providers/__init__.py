"""Adapters for outside services: the only code that speaks to a provider over the network (payment gateways
today; SMS, CRM, OpenID and RDAP next). Each adapter implements an interface its domain defines (billing's
``gateways.PaymentGateway``) and is registered with that domain here, so domain packages never import an HTTP
client or a provider (an import-linter contract keeps it so), and the doors reach a provider only through its
domain's interface, or through the adapter's own web hooks (a webhook's signature check, a return URL).

Modules: stripe (hosted Checkout and its signed webhooks), zarinpal (request, redirect, verify, reconcile)."""

MODELS = ()


def init_app(app):
    """Offer the card gateways to billing (BILLING_GATEWAYS chooses which are shown): Stripe for EUR, TRY and
    HUF, Zarinpal for IRR."""
    from helpdesk.billing.gateways import register_gateway
    from helpdesk.providers.stripe import StripeGateway
    from helpdesk.providers.zarinpal import ZarinpalGateway

    register_gateway(StripeGateway())
    register_gateway(ZarinpalGateway())
