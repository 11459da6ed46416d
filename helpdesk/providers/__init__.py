"""Adapters for outside services: the only code that speaks to a provider over the network (payment gateways
today; SMS, CRM, OpenID and RDAP next). Each adapter implements an interface its domain defines (billing's
``gateways.PaymentGateway``) and is registered with that domain here, so domain packages never import an HTTP
client or a provider (an import-linter contract keeps it so), and the doors reach a provider only through its
domain's interface, or through the adapter's own web hooks (a webhook's signature check, a return URL).

Modules: stripe (hosted Checkout and its signed webhooks), zarinpal (request, redirect, verify, reconcile), openid
(social login: any OpenID Connect provider, Google among them, and Facebook), mailbox_oauth (the OAuth 2 client of
mailboxes behind Microsoft 365 or Gmail)."""

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
    _offer_social_login(app)
    _offer_domain_providers(app)
    from helpdesk.inbound.oauth import register_token_client
    from helpdesk.providers.mailbox_oauth import AuthlibTokenClient

    register_token_client(AuthlibTokenClient())  # mailboxes behind OAuth 2 (MAIL_OAUTH_PROVIDERS)
    _offer_crm_and_videos(app)  # issue 19: Didar (CRM_PROVIDER), SpotPlayer (VIDEO_LICENCE_PROVIDER)
    _offer_sms_providers(app)  # part D: Kavenegar behind notify.sms
    _offer_webhook_sender()  # issue 20: the webhooks' HTTP sender


def _offer_webhook_sender():
    from helpdesk.providers.webhook_http import HttpSender
    from helpdesk.webhooks.delivery import register_sender

    register_sender(HttpSender())


def _offer_social_login(app):
    """Register the social login adapters with accounts (OPENID_PROVIDERS chooses which are shown). An entry without
    its client id or secret, or an OpenID Connect one without its issuer, stops the start naming what is missing
    (never a value)."""
    from helpdesk.accounts.social import provider_kind, register_provider_kind
    from helpdesk.providers.openid import FacebookProvider, OpenIDConnectProvider
    from helpdesk.settings import ConfigurationError

    register_provider_kind("openid", OpenIDConnectProvider)
    register_provider_kind("facebook", FacebookProvider)
    for name, settings in (app.config.get("OPENID_PROVIDERS") or {}).items():
        kind = provider_kind(name, settings) if isinstance(settings, dict) else None
        needed = ("client_id", "client_secret") + (("issuer",) if kind == "openid" and name != "google" else ())
        missing = [key for key in needed if not (settings or {}).get(key)] if kind else ["a dict of settings"]
        if kind not in (None, "openid", "facebook"):
            missing = ['"type" openid or facebook']
        if missing:
            raise ConfigurationError(f"HELPDESK_OPENID_PROVIDERS[{name!r}] needs {', '.join(missing)}")


def _offer_domain_providers(app):
    """The domains' availability checkers (RDAP, WHOIS) and registrars; DOMAINS_REGISTRAR "rest" needs its
    address and key."""
    from helpdesk.domains.checks import register_checker
    from helpdesk.domains.registrars import register_registrar
    from helpdesk.providers.rdap import RdapChecker
    from helpdesk.providers.registrar_rest import RestRegistrar
    from helpdesk.providers.whois import WhoisChecker
    from helpdesk.settings import ConfigurationError

    if app.config.get("DOMAINS_REGISTRAR") == "rest" and not (app.config.get("REGISTRAR_API_BASE")
                                                              and app.config.get("REGISTRAR_API_KEY")):
        raise ConfigurationError("DOMAINS_REGISTRAR is rest: set HELPDESK_REGISTRAR_API_BASE and "
                                 "HELPDESK_REGISTRAR_API_KEY")
    register_checker(RdapChecker())
    register_checker(WhoisChecker())
    register_registrar(RestRegistrar())


def _offer_sms_providers(app):
    """The SMS adapters behind notify.sms (SMS_PROVIDER chooses one); "kavenegar" needs its API key."""
    from helpdesk.notify.sms import register_provider
    from helpdesk.providers.kavenegar import KavenegarSms, install_log_filter
    from helpdesk.settings import ConfigurationError

    if app.config.get("SMS_PROVIDER") not in ("", None, "kavenegar"):
        raise ConfigurationError("SMS_PROVIDER must be empty or kavenegar")
    if app.config.get("SMS_PROVIDER") == "kavenegar" and not app.config.get("KAVENEGAR_API_KEY"):
        raise ConfigurationError("SMS_PROVIDER is kavenegar: set HELPDESK_KAVENEGAR_API_KEY")
    register_provider(KavenegarSms())
    install_log_filter()


def _offer_crm_and_videos(app):
    """The CRM adapter (Didar) and the video-licence provider (SpotPlayer); one chosen without its key stops the
    start naming the setting (never a value)."""
    from helpdesk.devices.crm import register_client
    from helpdesk.devices.videos import register_provider
    from helpdesk.providers.didar import DidarClient, install_log_filter
    from helpdesk.providers.spotplayer import SpotPlayerProvider
    from helpdesk.settings import ConfigurationError

    if app.config.get("CRM_PROVIDER") == "didar" and not app.config.get("DIDAR_API_KEY"):
        raise ConfigurationError("CRM_PROVIDER is didar: set HELPDESK_DIDAR_API_KEY")
    if app.config.get("VIDEO_LICENCE_PROVIDER") == "spotplayer" and not app.config.get("SPOTPLAYER_API_KEY"):
        raise ConfigurationError("VIDEO_LICENCE_PROVIDER is spotplayer: set HELPDESK_SPOTPLAYER_API_KEY")
    install_log_filter()  # the Didar key travels in URLs: urllib3's debug lines are redacted
    register_client(DidarClient())
    register_provider(SpotPlayerProvider())
