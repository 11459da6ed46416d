"""The catalogue and what an order makes of it: validation with every error at once, texts per language with the
default as fallback, prices per cycle and currency, options that change the price, setup fees, a package with its
domain free for the first year, taxes per country and customer type (net and gross prices, reverse charge) frozen
onto the invoice, and invoice totals equal to the sums of their lines in every currency."""
import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from helpdesk.audit.models import AuditEvent
from helpdesk.billing import catalogue, customers, orders
from helpdesk.billing.catalogue_models import CYCLES
from helpdesk.billing.pricing import CartItem
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from tests.integration.billing_shop import billing_app, build_shop, order


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def shop(app):
    return build_shop()


def test_catalogue_changes_are_checked_all_at_once_in_the_readers_language(shop):
    with pytest.raises(ValidationFailed) as refused:
        catalogue.create_product(shop.admin, group=shop.web.group, code="Web Hosting!", texts={"de": {"name": "X"}})
    assert set(refused.value.errors) == {"code", "name_en"}
    with force_locale("de"):
        assert str(refused.value.errors["name_en"]) != ""
    with pytest.raises(ValidationFailed) as refused:
        catalogue.set_price(shop.admin, shop.web, cycle="weekly", currency="USD", amount=-1, setup_fee=1.5)
    assert set(refused.value.errors) == {"cycle", "currency", "amount", "setup_fee"}
    with pytest.raises(ValidationFailed):
        catalogue.create_group(shop.admin, code="hosting", texts={"en": {"name": "Again"}})  # the code is taken
    with pytest.raises(ValidationFailed) as refused:
        catalogue.set_tax_rule(shop.admin, country="XX", customer_type="robot", name="", rate_bp=12_000)
    assert set(refused.value.errors) == {"country", "customer_type", "rate"}


def test_only_billing_staff_change_the_catalogue_and_each_change_is_audited(shop):
    with pytest.raises(NotAllowed):
        catalogue.create_group(shop.agent, code="x", texts={"en": {"name": "X"}})
    with pytest.raises(NotAllowed):
        catalogue.set_price(shop.carla, shop.web, cycle="monthly", currency="EUR", amount=1)
    catalogue.update_product(shop.admin, shop.web, active=False)
    actions = set(db.session.execute(sa.select(AuditEvent.entity, AuditEvent.action)
                                     .where(AuditEvent.entity.like("billing-%"))).all())
    assert {("billing-product", "created"), ("billing-product", "price-set"), ("billing-product", "option-added"),
            ("billing-product", "item-added"), ("billing-tax-rule", "set"), ("billing-product", "changed")} <= actions
    assert shop.web not in [p for _group, products in catalogue.shop_groups() for p in products]


def test_product_texts_in_the_readers_language_else_the_default(shop):
    assert catalogue.product_name(shop.web, "de") == "Webhosting"
    assert catalogue.product_description(shop.web, "de") == "PHP, MySQL, E-Mail"
    assert catalogue.product_name(shop.web, "tr") == "Web hosting"  # no Turkish text: the desk's default
    assert catalogue.product_name(shop.contract, "fa") == "قرارداد خدمات"


def test_every_cycle_can_be_priced(shop):
    for cycle in CYCLES:
        catalogue.set_price(shop.admin, shop.contract, cycle=cycle, currency="HUF", amount=1000)
    assert {p.cycle for p in shop.contract.prices if p.currency == "HUF"} == set(CYCLES)


def test_options_and_setup_fee_change_the_price(shop):
    quote = orders.quote(shop.carla, shop.carla_account, [CartItem(shop.web.id, "monthly", {"disk": "50gb"})])
    main, setup = quote.lines
    assert main.unit_price == 990 + 300 and "50 GB" in main.description
    assert setup.unit_price == 495 and setup.cycle == "one_off"
    with pytest.raises(ValidationFailed) as refused:
        orders.quote(shop.carla, shop.carla_account, [CartItem(shop.web.id, "monthly", {"disk": "1tb", "ram": "x"}),
                                                      CartItem(shop.web.id, "triennial")])
    assert set(refused.value.errors) == {"items-0-option-disk", "items-0-option-ram", "items-1-cycle"}


def test_the_start_package_brings_its_domain_free_for_the_first_year(shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.start, identifier="carla.example")
    package, domain = sorted(placed.services, key=lambda s: s.id)
    assert domain.parent_id == package.id and domain.cycle == "yearly" and domain.identifier == "carla.example"
    assert domain.recurring_amount == 1500  # renewed at the domain's price after the free year
    free = next(line for line in invoice.lines if line.service_id == domain.id)
    assert free.unit_price == 0 and free.gross == 0 and "free" in free.description


def test_tax_per_country_and_customer_type_is_frozen_on_the_invoice(shop):
    _placed, german = order(shop.carla, shop.carla_account, shop.web)
    assert {(line.tax_name, line.tax_rate_bp) for line in german.lines} == {("USt.", 1900)}
    _placed, turkish = order(shop.bora, shop.bora_account, shop.web, currency="TRY")
    assert {(line.tax_name, line.tax_rate_bp) for line in turkish.lines} == {("KDV", 2000)}
    catalogue.set_tax_rule(shop.admin, country="DE", name="USt.", rate_bp=1600)
    db.session.refresh(german)
    assert {line.tax_rate_bp for line in german.lines} == {1900}  # the rule changed; the invoice did not


def test_reverse_charge_for_an_eu_business_with_a_vat_number(shop):
    customers.update_details(shop.carla, shop.carla_account, country="AT", customer_type="business",
                             tax_number="ATU12345678")
    _placed, invoice = order(shop.carla, shop.carla_account, shop.start)  # gross price 9.90 incl. 19 % in DE
    assert invoice.reverse_charge and "Reverse charge" in invoice.tax_note
    assert invoice.tax_total == 0 and invoice.total == 832  # 9.90 / 1.19: the German VAT is not charged
    customers.update_details(shop.carla, shop.carla_account, tax_number="")
    _placed, without_number = order(shop.carla, shop.carla_account, shop.start)
    assert not without_number.reverse_charge


def test_net_and_gross_prices(shop):
    _placed, net = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    assert (net.net_total, net.tax_total, net.total) == (1500, 285, 1785)
    _placed, gross = order(shop.carla, shop.carla_account, shop.start)
    package_line = gross.lines[0]
    assert (package_line.gross, package_line.net, package_line.tax) == (990, 832, 158)


def test_invoice_totals_are_the_sums_of_their_lines_in_every_currency_and_rate(shop):
    rates = {"EUR": ("DE", 1900), "TRY": ("TR", 2000), "HUF": ("HU", 2700), "IRR": ("IR", 1000)}
    for currency, (country, _rate) in rates.items():
        customers.update_details(shop.carla, shop.carla_account, country=country, currency=currency)
        for product, cycle, quantity in ((shop.web, "monthly", 3), (shop.start, "monthly", 7),
                                         (shop.contract, "biennial", 1), (shop.domain, "yearly", 11)):
            _placed, invoice = order(shop.carla, shop.carla_account, product, cycle=cycle, currency=currency,
                                     quantity=quantity)
            assert invoice.currency == currency
            assert invoice.net_total == sum(line.net for line in invoice.lines)
            assert invoice.tax_total == sum(line.tax for line in invoice.lines)
            assert invoice.total == sum(line.gross for line in invoice.lines) == invoice.net_total + invoice.tax_total
            assert all(line.net + line.tax == line.gross for line in invoice.lines)


def test_the_console_sees_products_no_longer_on_sale(shop):
    catalogue.update_product(shop.admin, shop.contract, active=False)
    listed = {p.code for group in catalogue.console_groups(shop.agent) for p in group.products}
    assert "service-contract" in listed
    with pytest.raises(NotAllowed):
        catalogue.console_groups(shop.carla)
