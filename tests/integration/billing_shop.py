"""A small shop for the billing tests: the settings they run with, a catalogue priced in EUR, TRY, HUF and IRR with
taxes for Germany, Turkey, Hungary and Iran, customers with billing accounts, and a helper that runs a function in
several threads at once, each with its own app context and database session (real concurrency on PostgreSQL)."""
import threading
from types import SimpleNamespace

from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.billing import catalogue, customers, orders
from helpdesk.billing.pricing import CartItem
from helpdesk.db import Batch
from helpdesk.extensions import db

BANK = {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "bank": "Commerzbank", "holder": "Example GmbH"}
SETTINGS = {
    "SMTP_HOST": "",
    "BILLING_SELLER": {"name": "Example Hosting GmbH", "address": "Musterstraße 1\n10115 Berlin", "country": "DE",
                       "vat_number": "DE123456789", "email": "billing@example.test"},
    "BILLING_BANK_ACCOUNTS": {currency: BANK for currency in ("EUR", "TRY", "HUF", "IRR")},
    "BILLING_TRANSFER_APPROVAL_ABOVE": {"EUR": 100_000, "TRY": 3_000_000, "HUF": 400_000, "IRR": 500_000_000},
    "BILLING_DEFAULT_CURRENCY": "EUR",
}


def billing_app(app_factory, **overrides):
    """The body of each billing test module's ``app`` fixture: an app with SETTINGS, in its context."""
    app = app_factory(**{**SETTINGS, **overrides})
    with app.app_context():
        yield app
        db.session.remove()


def person(role, email, **kwargs):
    # No password: nobody logs in here, and hashing one costs time.
    return accounts.create_user(SYSTEM, email=email, full_name=email.split("@")[0].title(), role=role, **kwargs)


def build_shop():
    """Staff, two customers with billing accounts (Carla in Germany, Bora in Turkey), and a catalogue: a hosting
    product with a disk option and a setup fee, a domain, a "Start package" with the domain free for the first year,
    and a service contract; tax rules DE 19 %, TR 20 %, HU 27 %, IR 10 %."""
    # One transaction for the whole set-up: the services' calls flush instead of committing each (a commit
    # expired every row, which the next call read again), as a batch of service calls does.
    with Batch(db.session):
        return _build_shop()


def _build_shop():
    admin = person("admin", "ada@example.test")
    admin2 = person("admin", "adam@example.test")
    agent = person("agent", "alex@example.test")
    carla, bora = person("customer", "carla@example.test"), person("customer", "bora@example.test")
    hosting = catalogue.create_group(admin, code="hosting", texts={"en": {"name": "Hosting"},
                                                                   "de": {"name": "Webhosting"}})
    web = catalogue.create_product(admin, group=hosting, code="web-hosting",
                                   texts={"en": {"name": "Web hosting", "description": "PHP, MySQL, mail"},
                                          "de": {"name": "Webhosting", "description": "PHP, MySQL, E-Mail"}})
    domain = catalogue.create_product(admin, group=hosting, code="domain", texts={"en": {"name": "Domain"},
                                                                                  "hu": {"name": "Domain név"}})
    start = catalogue.create_product(admin, group=hosting, code="start", kind="package",
                                     texts={"en": {"name": "Start package"}, "hu": {"name": "Start csomag"}})
    contract = catalogue.create_product(admin, group=hosting, code="service-contract",
                                        texts={"en": {"name": "Service contract"},
                                               "fa": {"name": "قرارداد خدمات"}})
    for currency, monthly, yearly, domain_price in (("EUR", 990, 9900, 1500), ("TRY", 29900, 299000, 45000),
                                                    ("HUF", 3990, 39900, 5990), ("IRR", 12_000_000, 120_000_000,
                                                                                 5_000_000)):
        catalogue.set_price(admin, web, cycle="monthly", currency=currency, amount=monthly, setup_fee=monthly // 2)
        catalogue.set_price(admin, web, cycle="yearly", currency=currency, amount=yearly)
        catalogue.set_price(admin, domain, cycle="yearly", currency=currency, amount=domain_price)
        catalogue.set_price(admin, start, cycle="monthly", currency=currency, amount=monthly, includes_tax=True)
        catalogue.set_price(admin, contract, cycle="yearly", currency=currency, amount=yearly * 3)
        catalogue.set_price(admin, contract, cycle="biennial", currency=currency, amount=yearly * 5)
    catalogue.add_package_item(admin, start, domain, cycle="yearly", free_periods=1)
    disk = catalogue.add_option(admin, web, code="disk", texts={"en": {"name": "Disk"}},
                                choices=[{"code": "10gb", "texts": {"en": {"name": "10 GB"}}},
                                         {"code": "50gb", "texts": {"en": {"name": "50 GB"}}}])
    catalogue.set_choice_price(admin, disk.choices[1], cycle="monthly", currency="EUR", amount=300)
    for country, name, rate in (("DE", "USt.", 1900), ("TR", "KDV", 2000), ("HU", "ÁFA", 2700), ("IR", "VAT", 1000)):
        catalogue.set_tax_rule(admin, country=country, name=name, rate_bp=rate)
    carla_account = customers.open_account(carla, carla)
    customers.update_details(carla, carla_account, name="Carla Kunde", address="Hauptstraße 5\n10115 Berlin",
                             country="DE")
    bora_account = customers.open_account(bora, bora)
    customers.update_details(bora, bora_account, name="Bora Müşteri", country="TR", currency="TRY")
    return SimpleNamespace(admin=admin, admin2=admin2, agent=agent, carla=carla, bora=bora, web=web, domain=domain,
                           start=start, contract=contract, disk=disk, carla_account=carla_account,
                           bora_account=bora_account)


def order(customer, account, product, cycle="monthly", method="bank_transfer", currency=None, **item):
    """An order of one ``product`` by ``customer``; returns (order, its proforma invoice)."""
    placed = orders.place_order(customer, account, [CartItem(product.id, cycle, **item)], payment_method=method,
                                currency=currency)
    return placed, placed.invoice


def at_once(app, count, work):
    """Run ``work(i)`` for i in range(count) in ``count`` threads released together, each in its own app context
    (its own database session and connection). Returns (results, errors)."""
    barrier = threading.Barrier(count)
    results, errors, lock = [], [], threading.Lock()

    def run(i):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcome = work(i)
                with lock:
                    results.append(outcome)
            except Exception as exc:  # collected for the test to assert on
                with lock:
                    errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors
