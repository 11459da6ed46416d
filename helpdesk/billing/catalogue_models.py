"""The catalogue's tables: product groups, products and packages, their prices per billing cycle and currency,
configurable options, and the tax rules. Texts people read (names, descriptions) are kept per language in a
JSON column ``texts`` ({"en": {"name": ..., "description": ...}, "de": {...}}) and read with ``text_in``."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# Billing cycles and their length in months (0: paid once, never renewed).
ONE_OFF, MONTHLY, QUARTERLY, YEARLY, BIENNIAL, TRIENNIAL = (
    "one_off", "monthly", "quarterly", "yearly", "biennial", "triennial")
CYCLE_MONTHS = {ONE_OFF: 0, MONTHLY: 1, QUARTERLY: 3, YEARLY: 12, BIENNIAL: 24, TRIENNIAL: 36}
CYCLES = tuple(CYCLE_MONTHS)
CYCLE_LABELS = {
    ONE_OFF: _l("One-off"), MONTHLY: _l("Monthly"), QUARTERLY: _l("Quarterly"), YEARLY: _l("Yearly"),
    BIENNIAL: _l("Every 2 years"), TRIENNIAL: _l("Every 3 years"),
}

PRODUCT, PACKAGE = "product", "package"
DOMAIN = "domain"  # a domain name: priced per TLD (DomainPrice), registered or transferred (issue 18)
# Issue 19: a device's service contract renewal (the order item's identifier names the device), and a licensed
# training video (its purchase issues a licence key); helpdesk.devices fulfils both (billing.fulfilment).
DEVICE_CONTRACT, VIDEO_LICENCE = "device_contract", "video_licence"
PRODUCT_KINDS = (PRODUCT, PACKAGE, DOMAIN, DEVICE_CONTRACT, VIDEO_LICENCE)

INDIVIDUAL, BUSINESS = "individual", "business"
CUSTOMER_TYPES = (INDIVIDUAL, BUSINESS)
CUSTOMER_TYPE_LABELS = {INDIVIDUAL: _l("Individual"), BUSINESS: _l("Business")}


def text_in(texts, language: str, fallback: str, field: str = "name") -> str:
    """``field`` of ``texts`` in ``language``, else in ``fallback`` (the desk's default), else in any language."""
    texts = texts or {}
    for code in (language, fallback):
        value = (texts.get(code) or {}).get(field)
        if value:
            return value
    return next((t.get(field) for t in texts.values() if t.get(field)), "")


class ProductGroup(db.Model):
    """A shelf of the catalogue (hosting, domains, service contracts)."""

    __tablename__ = "billing_product_groups"

    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(60), nullable=False, unique=True)
    texts = sa.Column(sa.JSON, nullable=False, default=dict)
    position = sa.Column(sa.Integer, nullable=False, default=0)
    visible = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    products = relationship("Product", back_populates="group", order_by="Product.position")


class Product(db.Model):
    """Something sold: a product or service, or a package bundling others (``PackageItem``)."""

    __tablename__ = "billing_products"

    id = sa.Column(sa.Integer, primary_key=True)
    group_id = sa.Column(sa.Integer, sa.ForeignKey("billing_product_groups.id"), nullable=False, index=True)
    code = sa.Column(sa.String(60), nullable=False, unique=True)
    kind = sa.Column(sa.String(20), nullable=False, default=PRODUCT)
    texts = sa.Column(sa.JSON, nullable=False, default=dict)
    # Off: no longer sold (existing services keep it); hidden from the catalogue, refused at checkout.
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    taxable = sa.Column(sa.Boolean, nullable=False, default=True)
    position = sa.Column(sa.Integer, nullable=False, default=0)
    # Days before a service's due date its renewal invoice is made (None: BILLING_RENEWAL_LEAD_DAYS).
    renewal_lead_days = sa.Column(sa.Integer)
    # A package with one free domain: the first year of one domain registration ordered with it costs nothing.
    free_domain = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    group = relationship(ProductGroup, back_populates="products")
    prices = relationship("ProductPrice", back_populates="product", cascade="all, delete-orphan")
    options = relationship("ConfigOption", back_populates="product", cascade="all, delete-orphan",
                           order_by="ConfigOption.position")
    items = relationship("PackageItem", foreign_keys="PackageItem.package_id", back_populates="package",
                         cascade="all, delete-orphan", order_by="PackageItem.position")

    def price_for(self, cycle, currency):
        return next((p for p in self.prices if p.cycle == cycle and p.currency == currency), None)


class ProductPrice(db.Model):
    """A product's price for one billing cycle in one currency (minor units), with its one-time setup fee.
    ``includes_tax``: entered gross (the buyer pays exactly this) rather than net."""

    __tablename__ = "billing_product_prices"
    __table_args__ = (sa.UniqueConstraint("product_id", "cycle", "currency"),
                      sa.CheckConstraint("amount >= 0 AND setup_fee >= 0", name="not_negative"))

    id = sa.Column(sa.Integer, primary_key=True)
    product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id", ondelete="CASCADE"), nullable=False)
    cycle = sa.Column(sa.String(20), nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    setup_fee = sa.Column(sa.BigInteger, nullable=False, default=0)
    includes_tax = sa.Column(sa.Boolean, nullable=False, default=False)

    product = relationship(Product, back_populates="prices")


class ConfigOption(db.Model):
    """A choice the buyer makes that may change the price (disk size, support level): one of its choices."""

    __tablename__ = "billing_config_options"
    __table_args__ = (sa.UniqueConstraint("product_id", "code"),)

    id = sa.Column(sa.Integer, primary_key=True)
    product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id", ondelete="CASCADE"), nullable=False)
    code = sa.Column(sa.String(60), nullable=False)
    texts = sa.Column(sa.JSON, nullable=False, default=dict)
    position = sa.Column(sa.Integer, nullable=False, default=0)

    product = relationship(Product, back_populates="options")
    choices = relationship("OptionChoice", back_populates="option", cascade="all, delete-orphan",
                           order_by="OptionChoice.position")


class OptionChoice(db.Model):
    """One answer to an option; the first is the default. Its prices add to the product's (same cycle and
    currency, entered as the product's price is: net or gross); no price row means it costs nothing."""

    __tablename__ = "billing_option_choices"
    __table_args__ = (sa.UniqueConstraint("option_id", "code"),)

    id = sa.Column(sa.Integer, primary_key=True)
    option_id = sa.Column(sa.Integer, sa.ForeignKey("billing_config_options.id", ondelete="CASCADE"),
                          nullable=False)
    code = sa.Column(sa.String(60), nullable=False)
    texts = sa.Column(sa.JSON, nullable=False, default=dict)
    position = sa.Column(sa.Integer, nullable=False, default=0)

    option = relationship(ConfigOption, back_populates="choices")
    prices = relationship("ChoicePrice", back_populates="choice", cascade="all, delete-orphan")

    def price_for(self, cycle, currency):
        return next((p for p in self.prices if p.cycle == cycle and p.currency == currency), None)


class ChoicePrice(db.Model):
    __tablename__ = "billing_choice_prices"
    __table_args__ = (sa.UniqueConstraint("choice_id", "cycle", "currency"),
                      sa.CheckConstraint("amount >= 0 AND setup_fee >= 0", name="not_negative"))

    id = sa.Column(sa.Integer, primary_key=True)
    choice_id = sa.Column(sa.Integer, sa.ForeignKey("billing_option_choices.id", ondelete="CASCADE"),
                          nullable=False)
    cycle = sa.Column(sa.String(20), nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    setup_fee = sa.Column(sa.BigInteger, nullable=False, default=0)

    choice = relationship(OptionChoice, back_populates="prices")


class PackageItem(db.Model):
    """A product a package includes, on its own cycle (a domain renewed yearly in a monthly hosting package);
    its first ``free_periods`` periods cost nothing (the free domain for the first year), later ones its price."""

    __tablename__ = "billing_package_items"
    __table_args__ = (sa.UniqueConstraint("package_id", "item_id"),
                      sa.CheckConstraint("free_periods >= 0", name="free_periods"))

    id = sa.Column(sa.Integer, primary_key=True)
    package_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id", ondelete="CASCADE"), nullable=False)
    item_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id"), nullable=False, index=True)
    cycle = sa.Column(sa.String(20), nullable=False)
    free_periods = sa.Column(sa.Integer, nullable=False, default=0)
    position = sa.Column(sa.Integer, nullable=False, default=0)

    package = relationship(Product, foreign_keys=[package_id], back_populates="items")
    item = relationship(Product, foreign_keys=[item_id])


class DomainPrice(db.Model):
    """A domain product's yearly prices for one TLD in one currency (minor units, net): registering a new name
    (its renewals cost the same) and transferring one in."""

    __tablename__ = "billing_domain_prices"
    __table_args__ = (sa.UniqueConstraint("product_id", "tld", "currency"),
                      sa.CheckConstraint("registration >= 0 AND transfer >= 0", name="not_negative"))

    id = sa.Column(sa.Integer, primary_key=True)
    product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id", ondelete="CASCADE"), nullable=False)
    tld = sa.Column(sa.String(63), nullable=False)  # without the dot, in ASCII (punycode): "hu", "co.uk"
    currency = sa.Column(sa.String(3), nullable=False)
    registration = sa.Column(sa.BigInteger, nullable=False)
    transfer = sa.Column(sa.BigInteger, nullable=False)

    product = relationship(Product)


class TaxRule(db.Model):
    """The tax a buyer in ``country`` of ``customer_type`` pays ("" for either: any country, any type); the most
    specific rule wins. ``name`` is printed on the invoice (USt., KDV, ÁFA, VAT); ``rate_bp`` in basis points."""

    __tablename__ = "billing_tax_rules"
    __table_args__ = (sa.UniqueConstraint("country", "customer_type"),
                      sa.CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate"))

    id = sa.Column(sa.Integer, primary_key=True)
    country = sa.Column(sa.String(2), nullable=False, default="")
    customer_type = sa.Column(sa.String(20), nullable=False, default="")
    name = sa.Column(sa.String(60), nullable=False)
    rate_bp = sa.Column(sa.Integer, nullable=False)
