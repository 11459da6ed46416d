"""Pricing a cart: each item's product, cycle, options and package contents priced in one currency for one buyer,
as the invoice lines and services an order would make. ``price_cart`` is the only place catalogue prices become
line amounts (through money.line_amounts, where the tax is rounded); quotes and orders both use it."""
from dataclasses import dataclass, field

from flask_babel import force_locale

from helpdesk.billing import money
from helpdesk.billing.catalogue import default_language, get_product
from helpdesk.billing.catalogue_models import CYCLE_LABELS, CYCLES, DOMAIN, ONE_OFF, PACKAGE, YEARLY, text_in
from helpdesk.billing.domain_prices import domain_price
from helpdesk.billing.taxes import TaxDecision
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name, strip_control

IDENTIFIER_MAX = 200
QUANTITY_MAX = 100


@dataclass(frozen=True)
class CartItem:
    """What a customer puts in the cart: a product on a cycle, a choice per option (option code → choice code;
    an option left out takes its first choice), an identifier (domain, hostname, serial) and a quantity."""

    product_id: int
    cycle: str
    options: dict = field(default_factory=dict)
    identifier: str = ""
    quantity: int = 1


@dataclass
class DraftService:
    """A service an order will create (pending until paid)."""

    product: object
    cycle: str
    quantity: int
    identifier: str
    options: list
    recurring_amount: int | None
    includes_tax: bool
    parent: int | None  # index of the package's service in the quote's services
    item_index: int


@dataclass
class DraftLine:
    """An invoice line before it is stored: words, price and the amounts money.line_amounts gave."""

    description: str
    product_id: int | None
    cycle: str | None
    quantity: int
    unit_price: int
    includes_tax: bool
    tax_name: str
    tax_rate_bp: int
    net: int
    tax: int
    gross: int
    service: int | None = None  # index in the quote's services


@dataclass
class Quote:
    """A priced cart: its lines, the services it makes, the tax decision and the totals (sums of the lines)."""

    currency: str
    language: str
    tax: TaxDecision
    lines: list
    services: list
    items: list
    free_domains_used: int = 0  # domain registrations made free by packages with a free domain in this cart

    @property
    def totals(self) -> money.Totals:
        return money.sum_lines(self.lines)


def _line(tax: TaxDecision, product, *, description, cycle, quantity, unit_price, includes_tax, service=None):
    rate = tax.rate_bp if product.taxable else 0
    extraction = tax.home_rate_bp if (tax.reverse_charge and product.taxable) else None
    amounts = money.line_amounts(unit_price, quantity, rate, includes_tax, extraction)
    return DraftLine(description=description, product_id=product.id, cycle=cycle, quantity=quantity,
                     unit_price=unit_price, includes_tax=includes_tax, tax_name=tax.name if rate else "",
                     tax_rate_bp=rate, net=amounts.net, tax=amounts.tax, gross=amounts.gross, service=service)


def adjustment_line(tax: TaxDecision, product, *, description, cycle, quantity, unit_price, includes_tax) -> DraftLine:
    """A line for an amount that is not a catalogue price as such (a plan change's prorated charge, or its credit
    for unused days as a negative ``unit_price``), taxed as ``product``'s prices are: the same tax rules and the
    same rounding (money.line_amounts) as every other line."""
    return _line(tax, product, description=description, cycle=cycle, quantity=quantity, unit_price=unit_price,
                 includes_tax=includes_tax)


def _choices(errors, prefix, product, item, currency, language):
    """(the chosen options as [{option, choice, option_name, choice_name}], their amount, their setup fee)."""
    given = dict(item.options or {})
    chosen, amount, setup = [], 0, 0
    for option in product.options:
        code = given.pop(option.code, None) or (option.choices[0].code if option.choices else None)
        choice = next((c for c in option.choices if c.code == code), None)
        if choice is None:
            errors[f"{prefix}-option-{option.code}"] = _l("Choose one of the offered choices.")
            continue
        price = choice.price_for(item.cycle, currency)
        amount += price.amount if price else 0
        setup += price.setup_fee if price else 0
        chosen.append({"option": option.code, "choice": choice.code,
                       "option_name": text_in(option.texts, language, default_language()),
                       "choice_name": text_in(choice.texts, language, default_language())})
    for code in given:
        errors[f"{prefix}-option-{code}"] = _l("This product has no such option.")
    return chosen, amount, setup


def _describe(name, identifier, cycle, chosen):
    words = name + (f" ({identifier})" if identifier else "")
    if cycle != ONE_OFF:
        words += f" — {CYCLE_LABELS[cycle]}"
    if chosen:
        words += "\n" + "; ".join(f"{c['option_name']}: {c['choice_name']}" for c in chosen)
    return words


def _check_item(errors, prefix, item, currency):
    product = get_product(item.product_id)
    if product is None:
        errors[f"{prefix}-product"] = _l("This product is not on sale.")
        return None, None, "", 1
    price = product.price_for(item.cycle, currency) if item.cycle in CYCLES else None
    if price is None:
        errors[f"{prefix}-cycle"] = _l("This product is not sold on this billing cycle in this currency.")
    identifier = clean_name(strip_control(item.identifier or ""), limit=IDENTIFIER_MAX)
    quantity = item.quantity
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= QUANTITY_MAX:
        errors[f"{prefix}-quantity"] = _l("Enter a quantity from 1 to %(num)d.", num=QUANTITY_MAX)
        quantity = 1
    return product, price, identifier, quantity


def _price_item(quote, errors, index, item):
    prefix = f"items-{index}"
    if getattr(get_product(item.product_id), "kind", None) == DOMAIN:
        return _price_domain(quote, errors, prefix, index, item)
    product, price, identifier, quantity = _check_item(errors, prefix, item, quote.currency)
    if product is None:
        return
    chosen, option_amount, option_setup = _choices(errors, prefix, product, item, quote.currency, quote.language)
    if price is None:
        return
    name = text_in(product.texts, quote.language, default_language())
    unit = price.amount + option_amount
    quote.services.append(DraftService(
        product=product, cycle=item.cycle, quantity=quantity, identifier=identifier, options=chosen,
        recurring_amount=unit if item.cycle != ONE_OFF else None, includes_tax=price.includes_tax, parent=None,
        item_index=index))
    own = len(quote.services) - 1
    quote.lines.append(_line(quote.tax, product, description=_describe(name, identifier, item.cycle, chosen),
                             cycle=item.cycle, quantity=quantity, unit_price=unit, includes_tax=price.includes_tax,
                             service=own))
    setup = price.setup_fee + option_setup
    if setup:
        quote.lines.append(_line(quote.tax, product, description=str(_l("Setup fee: %(name)s", name=name)),
                                 cycle=ONE_OFF, quantity=quantity, unit_price=setup, includes_tax=price.includes_tax,
                                 service=own))
    if product.kind == PACKAGE:
        _price_contents(quote, errors, prefix, product, identifier, quantity, own, index)


def _price_contents(quote, errors, prefix, package, identifier, quantity, parent, index):
    """The package's items: a service each; a line each, free for their first ``free_periods`` periods."""
    for entry in package.items:
        item = entry.item
        price = item.price_for(entry.cycle, quote.currency)
        if price is None and not entry.free_periods:
            errors[f"{prefix}-package"] = _l("This package is not sold in this currency.")
            continue
        name = text_in(item.texts, quote.language, default_language())
        quote.services.append(DraftService(
            product=item, cycle=entry.cycle, quantity=quantity, identifier=identifier, options=[],
            recurring_amount=price.amount if price and entry.cycle != ONE_OFF else None,
            includes_tax=price.includes_tax if price else False, parent=parent, item_index=index))
        description = _describe(name, identifier, entry.cycle, [])
        if entry.free_periods:
            description += "\n" + str(_l("Included in %(package)s, free for the first period",
                                         package=text_in(package.texts, quote.language, default_language()))
                                      if entry.free_periods == 1 else
                                      _l("Included in %(package)s, free for the first %(num)d periods",
                                         package=text_in(package.texts, quote.language, default_language()),
                                         num=entry.free_periods))
        quote.lines.append(_line(quote.tax, item, description=description, cycle=entry.cycle, quantity=quantity,
                                 unit_price=0 if entry.free_periods else price.amount,
                                 includes_tax=price.includes_tax if price else False,
                                 service=len(quote.services) - 1))


DOMAIN_ACTIONS = {"register": _l("Registration"), "transfer": _l("Transfer")}


def _free_domains(quote) -> int:
    """How many domain registrations in this cart are free: one per package with a free domain in it."""
    return sum(1 for item in quote.items if isinstance(item, CartItem)
               and getattr(get_product(item.product_id), "free_domain", False))


def _price_domain(quote, errors, prefix, index, item):
    """A domain product: the name in ``identifier``, ``options["action"]`` register (default) or transfer, a year
    at its TLD's price; the first registrations up to the cart's free domains cost nothing for that year."""
    product = get_product(item.product_id)
    name = (item.identifier or "").strip().lower().rstrip(".")
    action = (item.options or {}).get("action", "register")
    price = domain_price(name, quote.currency) if name else None
    if action not in DOMAIN_ACTIONS:
        errors[f"{prefix}-option-action"] = _l("Choose one of the offered choices.")
    if item.cycle != YEARLY:
        errors[f"{prefix}-cycle"] = _l("This product is not sold on this billing cycle in this currency.")
    if price is None:
        errors[f"{prefix}-identifier"] = _l("We do not offer this domain name's ending in this currency.")
    if f"{prefix}-option-action" in errors or price is None or item.cycle != YEARLY:
        return
    yearly = price.transfer if action == "transfer" else price.registration
    free = action == "register" and quote.free_domains_used < _free_domains(quote)
    quote.free_domains_used += free
    chosen = [{"option": "action", "choice": action, "option_name": str(_l("Domain")),
               "choice_name": str(DOMAIN_ACTIONS[action])}]
    quote.services.append(DraftService(product=product, cycle=YEARLY, quantity=1, identifier=name, options=chosen,
                                       recurring_amount=price.registration, includes_tax=False, parent=None,
                                       item_index=index))
    description = _describe(text_in(product.texts, quote.language, default_language()), name, YEARLY, chosen)
    if free:
        description += "\n" + str(_l("Free with the package for the first year"))
    quote.lines.append(_line(quote.tax, product, description=description, cycle=YEARLY, quantity=1,
                             unit_price=0 if free else yearly, includes_tax=False, service=len(quote.services) - 1))


def price_cart(items, *, currency: str, language: str, tax: TaxDecision) -> Quote:
    """Price ``items`` (CartItem) in ``currency`` with ``tax``, the words in ``language``. Raises ValidationFailed
    with every problem at once (fields ``items-<n>-<field>``): a product not on sale, a cycle or currency it is
    not sold in, an unknown option or choice, a bad quantity, an empty cart."""
    errors = {}
    if currency not in money.CURRENCIES:
        errors["currency"] = _l("Choose a currency from the list.")
        raise ValidationFailed(errors)
    items = list(items or ())
    if not items:
        errors["items"] = _l("Your cart is empty.")
    quote = Quote(currency=currency, language=language, tax=tax, lines=[], services=[], items=items)
    with force_locale(language):
        for index, item in enumerate(items):
            if not isinstance(item, CartItem):
                errors[f"items-{index}"] = _l("Invalid cart item.")
                continue
            _price_item(quote, errors, index, item)
    if errors:
        raise ValidationFailed(errors)
    return quote
