"""How billing reads on pages, portal and console alike: amounts by money.format_amount in the reader's locale
(Toman for Persian readers of rials), catalogue texts in the reader's language, cycles and statuses in words.
Registered as template filters and globals by the billing blueprints."""
from flask_babel import get_locale
from flask_babel import gettext as _

from helpdesk.billing import catalogue, money, services, suspensions
from helpdesk.billing.catalogue_models import CUSTOMER_TYPE_LABELS, CYCLE_LABELS, text_in
from helpdesk.billing.models import (
    CREDIT_ADJUSTMENT,
    CREDIT_OVERPAYMENT,
    CREDIT_REFUND,
    CREDIT_SPENT,
    INVOICE_STATUS_LABELS,
    KIND_CREDIT_NOTE,
    ORDER_STATUS_LABELS,
    SERVICE_STATUS_LABELS,
    SERVICE_SUSPENDED,
    SOURCE_BANK_TRANSFER,
    SOURCE_CREDIT,
    SOURCE_MANUAL,
)
from helpdesk.billing.plan_change_models import CREDIT_PLAN_CHANGE

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _language() -> str:
    return str(get_locale() or "en").split("_")[0]


def money_filter(amount, currency) -> str:
    """``{{ invoice.total|money(invoice.currency) }}``."""
    if amount is None:
        return ""
    return money.format_amount(int(amount), currency, get_locale() or "en")


def texts(value, field="name") -> str:
    """A catalogue row's (or its ``texts``') name or description in the reader's language."""
    data = getattr(value, "texts", value)
    return text_in(data, _language(), catalogue.default_language(), field)


def tax_rate(rate_bp) -> str:
    """A tax rate in basis points as the reader writes a percentage ("19 %", "%20", "۹٪")."""
    from helpdesk.billing.pdf import format_rate

    return format_rate(int(rate_bp or 0), _language())


def currency_label(code) -> str:
    """A currency as the switcher names it: its code, or "تومان" for Persian readers of rials."""
    return money.TOMAN if money.in_toman(code, _language()) else code


def billing_date(day) -> str:
    """A calendar date (a due date, a value date) in the reader's calendar: Jalali for Persian readers."""
    if day is None:
        return ""
    language = _language()
    if language == "fa":
        import jdatetime

        return jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d").translate(_PERSIAN_DIGITS)
    from flask_babel import format_date

    return format_date(day, "medium")


def quantity(value) -> str:
    """A count (a line's quantity) in the reader's digits."""
    return str(value).translate(_PERSIAN_DIGITS) if _language() == "fa" else str(value)


def cycle_label(cycle) -> str:
    return str(CYCLE_LABELS.get(cycle, cycle or ""))


def priced_cycle(amount, currency, cycle) -> str:
    """"9,90 € monthly": a price with the cycle it is paid for."""
    return _("%(amount)s, %(cycle)s", amount=money_filter(amount, currency), cycle=cycle_label(cycle))


def service_name(service) -> str:
    return services.service_name(service, _language())


def invoice_title(invoice) -> str:
    if invoice.kind == KIND_CREDIT_NOTE:
        return _("Credit note %(name)s", name=invoice.name)
    if invoice.number:
        return _("Invoice %(number)s", number=invoice.number)
    return _("Proforma invoice %(reference)s", reference=invoice.reference)


def invoice_status(invoice) -> str:
    if invoice.kind == KIND_CREDIT_NOTE:
        return _("Credit note")
    if invoice.status == "proforma" and invoice.amount_paid:
        return _("Partly paid")
    return str(INVOICE_STATUS_LABELS.get(invoice.status, invoice.status))


def order_status(order) -> str:
    return str(ORDER_STATUS_LABELS.get(order.status, order.status))


def service_status(service) -> str:
    """The service's status in words; a suspended one says why: "Suspended for non-payment (invoice …)",
    "Held: <staff's reason>" (one query, for suspended services only)."""
    if service.status == SERVICE_SUSPENDED:
        state = suspensions.service_states([service])[service.id]
        reasons = [_("Held: %(reason)s", reason=reason) for reason in state.reasons]
        if state.invoices:
            reasons.append(_("Suspended for non-payment (invoice %(name)s)", name=", ".join(state.invoices)))
        if reasons:
            return "; ".join(reasons)
    return str(SERVICE_STATUS_LABELS.get(service.status, service.status))


def source_label(source) -> str:
    """How a payment was made, in words."""
    labels = {SOURCE_BANK_TRANSFER: _("Bank transfer"), SOURCE_CREDIT: _("Credit balance"),
              SOURCE_MANUAL: _("Booked by hand")}
    return labels.get(source) or _("Card, paid online (%(provider)s)", provider=str(source).capitalize())


def credit_kind(kind) -> str:
    labels = {CREDIT_OVERPAYMENT: _("Overpayment"), CREDIT_SPENT: _("Paid an invoice"),
              CREDIT_REFUND: _("Refund to credit"), CREDIT_ADJUSTMENT: _("Adjustment by staff"),
              CREDIT_PLAN_CHANGE: _("Change of plan")}
    return labels.get(kind, kind)


def customer_type(code) -> str:
    return str(CUSTOMER_TYPE_LABELS.get(code, code or ""))


def country_name(code) -> str:
    from helpdesk.billing.customers import countries

    return countries(_language()).get(code, code or "") if code else ""


def products_by_id(items) -> dict:
    """{product id: Product} of cart items, for naming them (products no longer on sale are left out)."""
    found = {}
    for item in items:
        product = catalogue.get_product(item.product_id)
        if product is not None:
            found[item.product_id] = product
    return found


def option_words(options) -> str:
    """A service's or order item's chosen options as "Disk: 50 GB; Support: 24/7" (the names frozen with them)."""
    if isinstance(options, dict):
        return "; ".join(f"{k}: {v}" for k, v in options.items())
    return "; ".join(f"{o.get('option_name') or o.get('option')}: {o.get('choice_name') or o.get('choice')}"
                     for o in options or () if isinstance(o, dict))


def register(blueprint):
    """Make the filters and helpers above available to every template (once, with ``blueprint``)."""
    for name, function in (("money", money_filter), ("billing_text", texts), ("cycle_label", cycle_label),
                           ("service_name", service_name), ("invoice_title", invoice_title),
                           ("invoice_status", invoice_status), ("order_status", order_status),
                           ("service_status", service_status), ("payment_source", source_label),
                           ("credit_kind", credit_kind), ("tax_rate", tax_rate), ("billing_date", billing_date),
                           ("quantity", quantity),
                           ("currency_label", currency_label), ("customer_type", customer_type),
                           ("country_name", country_name), ("option_words", option_words)):
        blueprint.add_app_template_filter(function, name)
