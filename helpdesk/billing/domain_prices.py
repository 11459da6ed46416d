"""Domain products in the catalogue (issue 18): a product of kind "domain" is priced per TLD and currency, a year
of registration and a transfer (DomainPrice), and a package may include one free domain (``Product.free_domain``:
the first year of one registration ordered with it costs nothing; see pricing). Billing staff set the prices;
customers and the domains package read which TLDs are offered and what they cost."""
import re

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.billing.access import require_manager
from helpdesk.billing.catalogue import check_amount
from helpdesk.billing.catalogue_models import DOMAIN, PACKAGE, DomainPrice, Product
from helpdesk.billing.money import CURRENCIES
from helpdesk.db import begin_write, commit_service_call
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# A TLD as the catalogue keeps it: ASCII labels (an IDN TLD in punycode), without the leading dot.
TLD = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")


def set_domain_price(actor, product: Product, *, tld, currency, registration, transfer) -> DomainPrice:
    """Set the yearly registration and transfer prices of ``tld`` in ``currency`` (minor units, net) on the domain
    product ``product``, made or replaced. Billing staff."""
    require_manager(actor)
    errors = {}
    tld = (tld or "").strip().lower().lstrip(".")
    if product.kind != DOMAIN:
        errors["product"] = _l("Only a domain product has prices per TLD.")
    if not TLD.fullmatch(tld) or len(tld) > 63:
        errors["tld"] = _l("Enter a TLD such as hu or co.uk.")
    if currency not in CURRENCIES:
        errors["currency"] = _l("Choose a currency from the list.")
    registration = check_amount(errors, "registration", registration)
    transfer = check_amount(errors, "transfer", transfer)
    if errors:
        raise ValidationFailed(errors)
    begin_write(db.session)
    price = db.session.scalar(sa.select(DomainPrice).where(DomainPrice.product_id == product.id,
                                                          DomainPrice.tld == tld, DomainPrice.currency == currency))
    if price is None:
        price = DomainPrice(product=product, tld=tld, currency=currency, registration=0, transfer=0)
        db.session.add(price)
    price.registration, price.transfer = registration, transfer
    audit.record(actor, "billing-product", product.id, "domain-price-set",
                 {"tld": tld, "currency": currency, "amount": registration, "transfer": transfer})
    commit_service_call(db.session)
    return price


def set_free_domain(actor, package: Product, free: bool) -> Product:
    """Whether ``package`` includes one free domain (the first year of one registration ordered with it).
    Billing staff; only packages."""
    require_manager(actor)
    if package.kind != PACKAGE:
        raise ValidationFailed({"free_domain": _l("Only a package can include a free domain.")})
    begin_write(db.session)
    if package.free_domain != bool(free):
        audit.record(actor, "billing-product", package.id, "changed", {"free_domain": [package.free_domain,
                                                                                      bool(free)]})
        package.free_domain = bool(free)
    commit_service_call(db.session)
    return package


def offered_tlds(currency: str | None = None) -> list[str]:
    """The TLDs a domain product on sale has a price for (in ``currency`` when given), sorted."""
    query = (sa.select(DomainPrice.tld).join(Product, DomainPrice.product_id == Product.id)
             .where(Product.kind == DOMAIN, Product.active.is_(True)).distinct())
    if currency is not None:
        query = query.where(DomainPrice.currency == currency)
    return sorted(db.session.scalars(query))


def tld_of(name: str, tlds) -> str | None:
    """The longest of ``tlds`` that ``name`` (ASCII, lower-case) ends in after at least one label, else None."""
    matches = [tld for tld in tlds if name.endswith("." + tld) and len(name) > len(tld) + 1]
    return max(matches, key=len) if matches else None


def domain_price(name: str, currency: str) -> DomainPrice | None:
    """The price row for ``name``'s TLD in ``currency`` on a domain product on sale (the first such product)."""
    tld = tld_of(name, offered_tlds(currency))
    if tld is None:
        return None
    return db.session.scalar(
        sa.select(DomainPrice).join(Product, DomainPrice.product_id == Product.id)
        .where(Product.kind == DOMAIN, Product.active.is_(True), DomainPrice.tld == tld,
               DomainPrice.currency == currency).order_by(Product.position, Product.id).limit(1))
