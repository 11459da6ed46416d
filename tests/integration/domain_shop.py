"""The billing shop with domains for the domain tests: a "domain" product priced per TLD (hu, com, eu), the Start
package with one free domain, fakes of RDAP, WHOIS and a registrar on loopback, and helpers that order and pay."""
from helpdesk.accounts import memberships
from helpdesk.actors import SYSTEM
from helpdesk.billing import catalogue, domain_prices, orders, payments
from helpdesk.billing.pricing import CartItem
from helpdesk.extensions import db
from tests.fakes.rdap_server import FakeRdap
from tests.fakes.registrar_api import API_KEY, FakeRegistrar
from tests.fakes.whois_server import NO_MATCH, FakeWhois
from tests.integration.billing_shop import billing_app

PRICES = {"hu": (1500, 1000), "com": (1200, 900), "eu": (800, 700)}


class Fakes:
    """RDAP serves hu (through its bootstrap file) and com (configured); WHOIS serves eu and hu; sparrow.hu and
    taken.eu are registered."""

    def __enter__(self):
        self.rdap = FakeRdap(tlds=("hu", "com"), registered=("sparrow.hu",)).start()
        self.whois = FakeWhois(registered=("taken.eu", "sparrow.hu")).start()
        self.registrar = FakeRegistrar(held=("held.hu",)).start()
        return self

    def __exit__(self, *exc):
        for fake in (self.rdap, self.whois, self.registrar):
            fake.stop()

    def settings(self):
        whois = {"host": self.whois.host, "port": self.whois.port, "no_match": NO_MATCH}
        return {"DOMAINS_RDAP_SERVERS": {"com": self.rdap.base},
                "DOMAINS_RDAP_BOOTSTRAP_URL": self.rdap.url + "/dns.json",
                "DOMAINS_WHOIS_SERVERS": {"eu": whois, "hu": whois},
                "DOMAINS_CHECK_TIMEOUT": 1, "DOMAINS_CHECK_CACHE_SECONDS": 600, "DOMAINS_CHECK_UNKNOWN_SECONDS": 30,
                "DOMAINS_REGISTRAR": "rest", "REGISTRAR_API_BASE": self.registrar.url,
                "REGISTRAR_API_KEY": API_KEY, "DOMAINS_REGISTRAR_TIMEOUT": 1}


def domain_app(app_factory, fakes, **overrides):
    yield from billing_app(app_factory, **{**fakes.settings(), **overrides})


def add_domains(shop):
    """A domain product priced per TLD in EUR and HUF, and the Start package's free domain."""
    group = shop.web.group
    shop.names = catalogue.create_product(shop.admin, group=group, code="domain-names", kind="domain",
                                          texts={"en": {"name": "Domain name"}, "hu": {"name": "Domain név"}})
    for tld, (registration, transfer) in PRICES.items():
        domain_prices.set_domain_price(shop.admin, shop.names, tld=tld, currency="EUR", registration=registration,
                                       transfer=transfer)
        domain_prices.set_domain_price(shop.admin, shop.names, tld=tld, currency="HUF",
                                       registration=registration * 4, transfer=transfer * 4)
    domain_prices.set_free_domain(shop.admin, shop.start, True)
    shop.carla_id = memberships.default_account_id(shop.carla)
    shop.bora_id = memberships.default_account_id(shop.bora)
    return shop


def paid_order(customer, account, items):
    """``items`` ordered by ``customer`` for the billing ``account`` and paid in full: the order is active."""
    placed = orders.place_order(customer, account, items, payment_method="bank_transfer")
    invoice = placed.invoice
    if invoice.total:
        payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency=invoice.currency,
                                source="manual", external_id=f"paid-{invoice.id}")
    db.session.commit()
    return placed


def domain_item(shop, name, action="register"):
    return CartItem(shop.names.id, "yearly", options={"action": action}, identifier=name)
