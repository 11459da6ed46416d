"""The catalogue, managed by billing staff and read by customers: product groups, products and packages, prices per
billing cycle and currency (minor units) with setup fees, configurable options and their prices, package contents,
and the tax rules. Every change checks all its input at once (ValidationFailed with translated messages), writes
an audit row and commits; reads give the words in the reader's language with the desk's default as fallback."""
import re

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from helpdesk import audit
from helpdesk.billing.access import require_manager
from helpdesk.billing.catalogue_models import (
    CUSTOMER_TYPES,
    CYCLES,
    PACKAGE,
    PRODUCT_KINDS,
    ChoicePrice,
    ConfigOption,
    OptionChoice,
    PackageItem,
    Product,
    ProductGroup,
    ProductPrice,
    TaxRule,
    text_in,
)
from helpdesk.billing.customers import countries
from helpdesk.billing.money import CURRENCIES, MAX_AMOUNT, RATE_SCALE
from helpdesk.db import begin_write, commit_service_call
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name, strip_control

CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")
NAME_MAX, DESCRIPTION_MAX, TAX_NAME_MAX = 200, 5000, 60


def default_language() -> str:
    return current_app.config.get("DEFAULT_LOCALE", "en")


# --------------------------------------------------------------------------- checks

def check_texts(errors, texts, *, description=True) -> dict:
    """{language: {"name", "description"}} cleaned; a name in the desk's default language is required."""
    clean = {}
    for language, text in (texts or {}).items():
        if language not in LANGUAGES or not isinstance(text, dict):
            errors["texts"] = _l("Texts must be in the desk's languages.")
            continue
        name = clean_name(strip_control(text.get("name") or ""), limit=NAME_MAX + 1)
        body = strip_control(text.get("description") or "").replace("\r\n", "\n").strip() if description else ""
        if len(name) > NAME_MAX:
            errors[f"name_{language}"] = _l("At most %(num)d characters.", num=NAME_MAX)
        if len(body) > DESCRIPTION_MAX:
            errors[f"description_{language}"] = _l("At most %(num)d characters.", num=DESCRIPTION_MAX)
        if name or body:
            clean[language] = {"name": name, "description": body} if description else {"name": name}
    if not (clean.get(default_language()) or {}).get("name"):
        errors[f"name_{default_language()}"] = _l("Enter a name in %(language)s.",
                                                   language=LANGUAGES.get(default_language(), default_language()))
    return clean


def _check_code(errors, code, model, current=None, scope=None):
    code = (code or "").strip().lower()
    if not CODE.fullmatch(code):
        errors["code"] = _l("Use 1 to 60 lower-case letters, digits and hyphens.")
        return code
    query = sa.select(model.id).where(model.code == code)
    if scope is not None:
        query = query.where(scope)
    if current is not None:
        query = query.where(model.id != current.id)
    if db.session.scalar(query) is not None:
        errors["code"] = _l("This code is taken.")
    return code


def check_amount(errors, field, value) -> int:
    """An amount in minor units (an int; the web door parses what was typed with money.parse_amount)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
        errors[field] = _l("Enter an amount of zero or more.")
        return 0
    return value


def _check_price(errors, cycle, currency, amount, setup_fee):
    if cycle not in CYCLES:
        errors["cycle"] = _l("Choose a billing cycle from the list.")
    if currency not in CURRENCIES:
        errors["currency"] = _l("Choose a currency from the list.")
    return check_amount(errors, "amount", amount), check_amount(errors, "setup_fee", setup_fee)


def _raise(errors):
    if errors:
        raise ValidationFailed(errors)


# --------------------------------------------------------------------------- groups and products

def create_group(actor, *, code, texts, position=0, visible=True) -> ProductGroup:
    """A new product group. Billing staff; the code is unique, a name in the default language required."""
    require_manager(actor)
    errors = {}
    code = _check_code(errors, code, ProductGroup)
    texts = check_texts(errors, texts)
    _raise(errors)
    begin_write(db.session)
    group = ProductGroup(code=code, texts=texts, position=int(position), visible=bool(visible))
    db.session.add(group)
    audit.record(actor, "billing-product-group", group, "created", {"code": code})
    commit_service_call(db.session)
    return group


def update_group(actor, group: ProductGroup, *, texts=None, position=None, visible=None) -> ProductGroup:
    """Change a group's texts, place or visibility. Billing staff."""
    require_manager(actor)
    errors = {}
    texts = check_texts(errors, texts) if texts is not None else None
    _raise(errors)
    begin_write(db.session)
    changed = _apply(group, texts=texts, position=position, visible=visible)
    if changed:
        audit.record(actor, "billing-product-group", group.id, "changed", changed)
    commit_service_call(db.session)
    return group


def _apply(row, **values) -> dict:
    """Set the given (not None) values on ``row``; {name: [old, new]} of what changed (texts as their languages)."""
    changed = {}
    for key, value in values.items():
        if value is not None and getattr(row, key) != value:
            old = getattr(row, key)
            changed[key] = sorted(value) if key == "texts" else [old, value]
            setattr(row, key, value)
    return changed


def create_product(actor, *, group, code, texts, kind="product", taxable=True, active=True,
                   position=0) -> Product:
    """A new product or package (``kind``) in ``group``. Billing staff."""
    require_manager(actor)
    errors = {}
    code = _check_code(errors, code, Product)
    texts = check_texts(errors, texts)
    if kind not in PRODUCT_KINDS:
        errors["kind"] = _l("Choose product or package.")
    if not isinstance(group, ProductGroup):
        errors["group"] = _l("Choose a product group.")
    _raise(errors)
    begin_write(db.session)
    product = Product(group=group, code=code, texts=texts, kind=kind, taxable=bool(taxable), active=bool(active),
                      position=int(position))
    db.session.add(product)
    audit.record(actor, "billing-product", product, "created", {"code": code, "kind": kind})
    commit_service_call(db.session)
    return product


def update_product(actor, product: Product, *, texts=None, group=None, active=None, taxable=None,
                   position=None) -> Product:
    """Change a product's texts, group, whether it is sold (``active``) and taxed, its place. Billing staff.
    Orders and invoices already made keep what they froze."""
    require_manager(actor)
    errors = {}
    texts = check_texts(errors, texts) if texts is not None else None
    if group is not None and not isinstance(group, ProductGroup):
        errors["group"] = _l("Choose a product group.")
    _raise(errors)
    begin_write(db.session)
    changed = _apply(product, texts=texts, active=active, taxable=taxable, position=position)
    if group is not None and group.id != product.group_id:
        changed["group"] = [product.group_id, group.id]
        product.group = group
    if changed:
        audit.record(actor, "billing-product", product.id, "changed", changed)
    commit_service_call(db.session)
    return product


def set_price(actor, product: Product, *, cycle, currency, amount, setup_fee=0, includes_tax=False) -> ProductPrice:
    """Set ``product``'s price for ``cycle`` in ``currency`` (minor units; ``includes_tax``: entered gross), made
    or replaced. Billing staff. Services already bought keep their recurring price."""
    require_manager(actor)
    errors = {}
    amount, setup_fee = _check_price(errors, cycle, currency, amount, setup_fee)
    _raise(errors)
    begin_write(db.session)
    price = product.price_for(cycle, currency)
    if price is None:
        price = ProductPrice(product=product, cycle=cycle, currency=currency, amount=0)
        db.session.add(price)
    old = [price.amount, price.setup_fee, price.includes_tax]
    price.amount, price.setup_fee, price.includes_tax = amount, setup_fee, bool(includes_tax)
    audit.record(actor, "billing-product", product.id, "price-set",
                 {"cycle": cycle, "currency": currency, "amount": [old[0], amount], "setup_fee": [old[1], setup_fee],
                  "includes_tax": bool(includes_tax)})
    commit_service_call(db.session)
    return price


def remove_price(actor, product: Product, *, cycle, currency) -> None:
    """Stop selling ``product`` on ``cycle`` in ``currency``. Billing staff."""
    require_manager(actor)
    price = product.price_for(cycle, currency)
    if price is None:
        return
    begin_write(db.session)
    product.prices.remove(price)
    audit.record(actor, "billing-product", product.id, "price-removed", {"cycle": cycle, "currency": currency})
    commit_service_call(db.session)


# --------------------------------------------------------------------------- options and packages

def add_option(actor, product: Product, *, code, texts, choices) -> ConfigOption:
    """A configurable option of ``product`` with its ``choices`` ([{"code", "texts"}], the first the default);
    prices come with ``set_choice_price``. Billing staff."""
    require_manager(actor)
    errors = {}
    code = _check_code(errors, code, ConfigOption, scope=ConfigOption.product_id == product.id)
    texts = check_texts(errors, texts, description=False)
    checked = []
    for position, choice in enumerate(choices or ()):
        choice_errors = {}
        choice_code = (choice.get("code") or "").strip().lower()
        if not CODE.fullmatch(choice_code) or choice_code in {c[0] for c in checked}:
            choice_errors["code"] = _l("Each choice needs its own code.")
        checked.append((choice_code, check_texts(choice_errors, choice.get("texts"), description=False), position))
        errors.update({f"choices-{position}-{key}": value for key, value in choice_errors.items()})
    if not checked:
        errors["choices"] = _l("Give the option at least one choice.")
    _raise(errors)
    begin_write(db.session)
    option = ConfigOption(product=product, code=code, texts=texts, position=len(product.options))
    option.choices = [OptionChoice(code=c, texts=t, position=p) for c, t, p in checked]
    db.session.add(option)
    audit.record(actor, "billing-product", product.id, "option-added", {"option": code,
                                                                        "choices": [c[0] for c in checked]})
    commit_service_call(db.session)
    return option


def set_choice_price(actor, choice: OptionChoice, *, cycle, currency, amount, setup_fee=0) -> ChoicePrice:
    """What choosing ``choice`` adds to the product's price for ``cycle`` in ``currency``. Billing staff."""
    require_manager(actor)
    errors = {}
    amount, setup_fee = _check_price(errors, cycle, currency, amount, setup_fee)
    _raise(errors)
    begin_write(db.session)
    price = choice.price_for(cycle, currency)
    if price is None:
        price = ChoicePrice(choice=choice, cycle=cycle, currency=currency, amount=0)
        db.session.add(price)
    price.amount, price.setup_fee = amount, setup_fee
    audit.record(actor, "billing-product", choice.option.product_id, "option-price-set",
                 {"option": choice.option.code, "choice": choice.code, "cycle": cycle, "currency": currency,
                  "amount": amount, "setup_fee": setup_fee})
    commit_service_call(db.session)
    return price


def add_package_item(actor, package: Product, item: Product, *, cycle, free_periods=0) -> PackageItem:
    """Put ``item`` in ``package`` on its own ``cycle``, its first ``free_periods`` periods free (a free domain
    for the first year: yearly, 1). Billing staff; a package holds products, not other packages."""
    require_manager(actor)
    errors = {}
    if package.kind != PACKAGE:
        errors["package"] = _l("Only a package can include other products.")
    if item.kind == PACKAGE or item.id == package.id:
        errors["item"] = _l("A package can include products, not packages.")
    elif any(existing.item_id == item.id for existing in package.items):
        errors["item"] = _l("The package already includes this product.")
    _check_item_terms(errors, cycle, free_periods)
    _raise(errors)
    begin_write(db.session)
    entry = PackageItem(package=package, item=item, cycle=cycle, free_periods=free_periods,
                        position=len(package.items))
    db.session.add(entry)
    audit.record(actor, "billing-product", package.id, "item-added",
                 {"item": item.id, "cycle": cycle, "free_periods": free_periods})
    commit_service_call(db.session)
    return entry


def _check_item_terms(errors, cycle, free_periods):
    if cycle not in CYCLES:
        errors["cycle"] = _l("Choose a billing cycle from the list.")
    if not isinstance(free_periods, int) or isinstance(free_periods, bool) or not 0 <= free_periods <= 100:
        errors["free_periods"] = _l("Enter a number of free periods from 0 to 100.")


def update_option(actor, option: ConfigOption, *, texts, choices=None) -> ConfigOption:
    """Rename ``option`` (``texts``, a name per language) and its choices (``choices``: {choice code: texts}; a
    choice left out keeps its names). Billing staff. Codes never change: carts and services refer to them."""
    require_manager(actor)
    errors = {}
    texts = check_texts(errors, texts, description=False)
    renamed = {}
    for index, choice in enumerate(option.choices):
        if choice.code in (choices or {}):
            choice_errors = {}
            renamed[choice.code] = check_texts(choice_errors, choices[choice.code], description=False)
            errors.update({f"choices-{index}-{key}": value for key, value in choice_errors.items()})
    if set(choices or {}) - {c.code for c in option.choices}:
        errors["choices"] = _l("Choose one of the offered choices.")
    _raise(errors)
    begin_write(db.session)
    changed = _apply(option, texts=texts)
    changed_choices = []
    for choice in option.choices:
        if choice.code in renamed and _apply(choice, texts=renamed[choice.code]):
            changed_choices.append(choice.code)
    if changed or changed_choices:
        audit.record(actor, "billing-product", option.product_id, "option-updated",
                     {"option": option.code, "languages": changed.get("texts", []), "choices": changed_choices})
    commit_service_call(db.session)
    return option


def _current_part(row, product_id):
    """``row`` (an option or a package item) as it is now, with its product locked, so that two staff changing the
    same product's parts take turns; NotFound when someone removed it meanwhile."""
    begin_write(db.session)
    product = db.session.get(Product, product_id, with_for_update=True, populate_existing=True)
    current = db.session.get(type(row), row.id, populate_existing=True) if product is not None else None
    if current is None:
        raise NotFound()
    db.session.expire(product, ["options", "items"])
    return current


def remove_option(actor, option: ConfigOption) -> None:
    """Take ``option`` (its choices and their prices) off its product: new orders no longer offer it. Billing
    staff. Services keep the choices they were bought with (a copy); a cart holding it is refused at checkout."""
    require_manager(actor)
    option = _current_part(option, option.product_id)
    product = option.product
    removed = {"option": option.code, "choices": [c.code for c in option.choices]}
    product.options.remove(option)
    for position, rest in enumerate(product.options):
        rest.position = position
    audit.record(actor, "billing-product", product.id, "option-removed", removed)
    commit_service_call(db.session)


def update_package_item(actor, entry: PackageItem, *, cycle, free_periods) -> PackageItem:
    """Change the ``cycle`` and ``free_periods`` of a package's item for new orders; services bought keep
    theirs. Billing staff."""
    require_manager(actor)
    errors = {}
    _check_item_terms(errors, cycle, free_periods)
    _raise(errors)
    begin_write(db.session)
    changed = _apply(entry, cycle=cycle, free_periods=free_periods)
    if changed:
        audit.record(actor, "billing-product", entry.package_id, "item-updated", {"item": entry.item_id, **changed})
    commit_service_call(db.session)
    return entry


def remove_package_item(actor, entry: PackageItem) -> None:
    """Take a product out of its package for new orders; services bought keep it. Billing staff."""
    require_manager(actor)
    entry = _current_part(entry, entry.package_id)
    package = entry.package
    removed = {"item": entry.item_id, "cycle": entry.cycle, "free_periods": entry.free_periods}
    package.items.remove(entry)
    for position, rest in enumerate(package.items):
        rest.position = position
    audit.record(actor, "billing-product", package.id, "item-removed", removed)
    commit_service_call(db.session)


# --------------------------------------------------------------------------- taxes

def set_tax_rule(actor, *, country="", customer_type="", name, rate_bp) -> TaxRule:
    """The tax for buyers in ``country`` ("" any) of ``customer_type`` ("" any): its printed name and rate in
    basis points (2000 = 20 %). Made or replaced; invoices already made keep theirs. Billing staff."""
    require_manager(actor)
    errors = {}
    country = (country or "").strip().upper()
    if country and country not in countries("en"):
        errors["country"] = _l("Choose a country from the list.")
    if customer_type and customer_type not in CUSTOMER_TYPES:
        errors["customer_type"] = _l("Choose individual or business.")
    name = clean_name(strip_control(name or ""), limit=TAX_NAME_MAX)
    if not isinstance(rate_bp, int) or isinstance(rate_bp, bool) or not 0 <= rate_bp <= RATE_SCALE:
        errors["rate"] = _l("Enter a rate from 0 to 100 %.")
    elif rate_bp and not name:
        errors["name"] = _l("Enter the tax's name as invoices print it (VAT, KDV, ÁFA).")
    _raise(errors)
    begin_write(db.session)
    rule = db.session.scalar(sa.select(TaxRule).where(TaxRule.country == country,
                                                      TaxRule.customer_type == (customer_type or "")))
    if rule is None:
        rule = TaxRule(country=country, customer_type=customer_type or "", name=name, rate_bp=rate_bp)
        db.session.add(rule)
    old = [rule.name, rule.rate_bp]
    rule.name, rule.rate_bp = name, rate_bp
    audit.record(actor, "billing-tax-rule", rule, "set", {"country": country, "customer_type": customer_type or "",
                                                          "name": [old[0], name], "rate_bp": [old[1], rate_bp]})
    commit_service_call(db.session)
    return rule


def tax_rules(actor) -> list[TaxRule]:
    """Every tax rule, for the console (staff)."""
    from helpdesk.billing.access import require_reader

    require_reader(actor)
    return db.session.scalars(sa.select(TaxRule).order_by(TaxRule.country, TaxRule.customer_type)).all()


# --------------------------------------------------------------------------- reading

def product_name(product: Product, language: str) -> str:
    return text_in(product.texts, language, default_language())


def product_description(product: Product, language: str) -> str:
    return text_in(product.texts, language, default_language(), "description")


def shop_groups(currency: str | None = None):
    """The groups customers see, each with its products on sale (priced in ``currency`` when given): a list of
    (group, [products]), in the catalogue's order, options, choices, prices and package contents loaded."""
    groups = db.session.scalars(
        sa.select(ProductGroup).where(ProductGroup.visible.is_(True)).order_by(ProductGroup.position, ProductGroup.id)
        .options(selectinload(ProductGroup.products).selectinload(Product.prices),
                 selectinload(ProductGroup.products).selectinload(Product.options)
                 .selectinload(ConfigOption.choices).selectinload(OptionChoice.prices),
                 selectinload(ProductGroup.products).selectinload(Product.items))).all()
    shelves = []
    for group in groups:
        products = [p for p in group.products if p.active
                    and (currency is None or any(price.currency == currency for price in p.prices))]
        if products:
            shelves.append((group, products))
    return shelves


def console_groups(actor):
    """Every group with every product (on sale or not), their prices, options and package contents: the console's
    catalogue (staff)."""
    from helpdesk.billing.access import require_reader

    require_reader(actor)
    return db.session.scalars(
        sa.select(ProductGroup).order_by(ProductGroup.position, ProductGroup.id)
        .options(selectinload(ProductGroup.products).selectinload(Product.prices),
                 selectinload(ProductGroup.products).selectinload(Product.options)
                 .selectinload(ConfigOption.choices).selectinload(OptionChoice.prices),
                 selectinload(ProductGroup.products).selectinload(Product.items))).all()


def get_product(product_id, *, for_sale=True) -> Product | None:
    """The product with ``product_id`` (only if on sale, unless ``for_sale`` is false), else None."""
    from helpdesk.db import parse_id

    product_id = parse_id(product_id)
    product = db.session.get(Product, product_id) if product_id is not None else None
    if product is None or (for_sale and not product.active):
        return None
    return product
