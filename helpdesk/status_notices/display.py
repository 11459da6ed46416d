"""A notice in the reader's words: its title and text in their language (else the desk's default), an update's
text, and the names of the products it affects (a service is named by its product: never by its identifier, which
is a customer's domain or host)."""
import sqlalchemy as sa
from flask import current_app

from helpdesk.billing.catalogue_models import Product, text_in
from helpdesk.billing.models import Service
from helpdesk.extensions import db
from helpdesk.status_notices.models import AFFECTS_PRODUCT, AFFECTS_SERVICE


def _default() -> str:
    return current_app.config.get("DEFAULT_LOCALE", "en")


def language_of(locale) -> str:
    return str(locale or _default()).split("_")[0]


def notice_text(notice, locale) -> tuple[str, str]:
    """(title, text) of ``notice`` in ``locale``'s language, each falling back to the desk's default language."""
    language = language_of(locale)
    return (text_in(notice.texts, language, _default(), "title"), text_in(notice.texts, language, _default(), "text"))


def update_text(update, locale) -> str:
    texts = update.texts or {}
    return texts.get(language_of(locale)) or texts.get(_default()) or next(iter(texts.values()), "")


def affected_products(notice, locale) -> list[str]:
    """The names of the products ``notice`` affects (directly, or through an affected service), in ``locale``."""
    product_ids = set(notice.targets(AFFECTS_PRODUCT))
    service_ids = notice.targets(AFFECTS_SERVICE)
    if service_ids:
        product_ids.update(db.session.scalars(sa.select(Service.product_id).where(Service.id.in_(service_ids))))
    if not product_ids:
        return []
    language = language_of(locale)
    products = db.session.scalars(sa.select(Product).where(Product.id.in_(product_ids))
                                  .order_by(Product.position, Product.id)).all()
    return [text_in(p.texts, language, _default()) or p.code for p in products]


def product_choices(locale) -> list[tuple[int, str]]:
    """Every product (on sale or not), named in ``locale``: what the console's notice form offers."""
    language = language_of(locale)
    products = db.session.scalars(sa.select(Product).order_by(Product.position, Product.id)).all()
    return [(p.id, text_in(p.texts, language, _default()) or p.code) for p in products]


def service_labels(notice, locale) -> list[tuple[int, str]]:
    """The services ``notice`` affects with their product, identifier and customer, for staff only."""
    ids = notice.targets(AFFECTS_SERVICE)
    if not ids:
        return []
    language = language_of(locale)
    services = db.session.scalars(sa.select(Service).where(Service.id.in_(ids)).order_by(Service.id)).all()
    labels = []
    for service in services:
        name = text_in(service.product.texts, language, _default()) or service.product.code
        identifier = f" ({service.identifier})" if service.identifier else ""
        labels.append((service.id, f"#{service.id} {name}{identifier} · {service.account.name or service.account_id}"))
    return labels
