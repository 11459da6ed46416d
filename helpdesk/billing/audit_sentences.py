"""Billing's audit actions as sentences, amounts formatted for the reader, and how the trail names billing objects
(invoices by number or reference, orders, services, products, payments). Registered on import."""
import sqlalchemy as sa
from flask_babel import get_locale

from helpdesk.audit.sentences import Ref, pair, register, register_kind
from helpdesk.billing.catalogue import default_language
from helpdesk.billing.catalogue_models import CYCLE_LABELS, Product, ProductGroup, TaxRule, text_in
from helpdesk.billing.models import BillingAccount, Invoice, Payment, Service
from helpdesk.billing.money import MINOR_DIGITS, format_amount
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.i18n import lazy_pgettext


def _language():
    return str(get_locale() or default_language()).split("_")[0]


def _invoices(ids):
    rows = db.session.execute(sa.select(Invoice.id, Invoice.number, Invoice.reference).where(Invoice.id.in_(ids)))
    return {i: Ref("billing-invoice", i, number or reference, key=i) for i, number, reference in rows}


def _named(model, entity):
    def describe(ids):
        language = _language()
        rows = db.session.scalars(sa.select(model).where(model.id.in_(ids))).all()
        return {row.id: Ref(entity, row.id, text_in(row.texts, language, default_language()) or row.code, key=row.id)
                for row in rows}
    return describe


def _services(ids):
    language = _language()
    rows = db.session.execute(sa.select(Service.id, Service.identifier, Product.texts)
                              .join(Product, Service.product_id == Product.id).where(Service.id.in_(ids)))
    return {i: Ref("billing-service", i, text_in(texts, language, default_language())
                   + (f" ({identifier})" if identifier else ""), key=i) for i, identifier, texts in rows}


def _accounts(ids):
    rows = db.session.execute(sa.select(BillingAccount.id, BillingAccount.name).where(BillingAccount.id.in_(ids)))
    return {i: Ref("billing-account", i, name or f"#{i}", key=i) for i, name in rows}


def _payments(ids):
    rows = db.session.execute(sa.select(Payment.id, Payment.amount, Payment.currency).where(Payment.id.in_(ids)))
    return {i: Ref("billing-payment", i, _money(amount, currency), key=i) for i, amount, currency in rows}


def _orders(ids):
    return {i: Ref("billing-order", i, f"#{i}", key=i) for i in ids}


def _tax_rules(ids):
    rows = db.session.execute(sa.select(TaxRule.id, TaxRule.name, TaxRule.country).where(TaxRule.id.in_(ids)))
    return {i: Ref("billing-tax-rule", i, f"{name} {country}".strip() or f"#{i}") for i, name, country in rows}


def _money(amount, currency):
    if isinstance(amount, int) and currency in MINOR_DIGITS:
        return format_amount(amount, currency, get_locale() or default_language())
    return f"{amount} {currency}"


register_kind("billing-invoice", name=_l("Invoice"), describe=_invoices)
register_kind("billing-order", name=lazy_pgettext("billing", "Order"), describe=_orders)
register_kind("billing-service", name=_l("Service"), describe=_services)
register_kind("billing-payment", name=_l("Payment"), describe=_payments)
register_kind("billing-account", name=_l("Billing account"), describe=_accounts)
register_kind("billing-product", name=_l("Product"), describe=_named(Product, "billing-product"))
register_kind("billing-product-group", name=_l("Product group"), describe=_named(ProductGroup, "billing-product-group"))
register_kind("billing-tax-rule", name=_l("Tax rule"), describe=_tax_rules)


def _with_money(template, amount_key="amount"):
    def tell(reading):
        amount = pair(reading.changes.get(amount_key))[1]
        amount = abs(amount) if isinstance(amount, int) else amount
        cycle = reading.changes.get("cycle")
        return reading.sentence(template, money=_money(amount, reading.changes.get("currency")),
                                cycle=CYCLE_LABELS.get(cycle, cycle or ""))
    return tell


def _payment(reading):
    changes = reading.changes
    money = _money(changes.get("amount"), changes.get("currency"))
    invoice = reading.ref("billing-invoice", changes.get("invoice"))
    if changes.get("credited"):
        return reading.sentence(_l("Recorded a payment of %(money)s (%(source)s) for invoice %(invoice)s; "
                                   "%(credited)s went to the customer’s credit."), money=money, invoice=invoice,
                                credited=_money(changes["credited"], changes.get("currency")))
    return reading.sentence(_l("Recorded a payment of %(money)s (%(source)s) for invoice %(invoice)s."),
                            money=money, invoice=invoice)


register("billing-payment", "recorded", _payment, refs={"invoice": "billing-invoice"})
register("billing-invoice", "finalised", _l("The proforma invoice %(reference)s was paid in full and became "
                                            "invoice %(number)s."))
register("billing-invoice", "issued", _l("Issued the credit note %(number)s."))
register("billing-invoice", "charge-invoiced", _with_money(_l("Invoiced a one-off charge of %(money)s (proforma "
                                                                 "%(reference)s).")))
register("billing-invoice", "cancelled", _l("Cancelled the proforma invoice %(name)s."))
register("billing-invoice", "credited", _l("Cancelled invoice %(name)s with a credit note."))
register("billing-invoice", "proof-uploaded", _l("Added a proof of payment (%(filename)s) to invoice %(name)s."))
register("billing-invoice", "transfer-booked", _with_money(_l("Booked a bank transfer of %(money)s (bank "
                                                              "reference %(bank_reference)s) on invoice %(name)s.")))
register("billing-invoice", "transfer-approved", _with_money(_l("Approved the bank transfer of %(money)s booked on "
                                                                "invoice %(name)s.")))
register("billing-invoice", "transfer-rejected", _with_money(_l("Rejected the bank transfer of %(money)s booked on "
                                                                "invoice %(name)s.")))
register("billing-invoice", "checkout-started", _with_money(_l("Started paying %(money)s of invoice %(name)s at "
                                                               "%(gateway)s.")))
register("billing-order", "placed", _with_money(_l("Placed order %(name)s (%(money)s)."), amount_key="total"))
register("billing-order", "accepted", _l("Accepted order %(name)s."))
register("billing-order", "held", _l("Put order %(name)s on hold."))
register("billing-order", "cancelled", _l("Cancelled order %(name)s."))
register("billing-service", "activated", _l("Activated the service %(name)s."))
register("billing-service", "suspended", _l("Suspended the service %(name)s."))
register("billing-service", "resumed", _l("Resumed the service %(name)s."))
register("billing-service", "cancelled", _l("Cancelled the service %(name)s."))
register("billing-account", "changed", _l("Changed the billing details of %(name)s."))
register("billing-account", "credit-added", _with_money(_l("Added %(money)s to the credit of %(name)s.")))
register("billing-account", "credit-spent", _with_money(_l("Took %(money)s from the credit of %(name)s.")))
register("billing-product-group", "created", _l("Created the product group “%(name)s”."))
register("billing-product-group", "changed", _l("Changed the product group “%(name)s”."))
register("billing-product", "created", _l("Created the product “%(name)s”."))
register("billing-product", "changed", _l("Changed the product “%(name)s”."))
register("billing-product", "price-set", _with_money(_l("Set the price of the product “%(name)s” (%(cycle)s) to "
                                                     "%(money)s.")))
register("billing-product", "price-removed", _with_money(_l("Removed the price of the product “%(name)s” "
                                                           "(%(cycle)s, %(currency)s).")))
register("billing-product", "option-added", _l("Added the option “%(option)s” to the product “%(name)s”."))
register("billing-product", "option-price-set", _l("Set the price of the choice “%(choice)s” of the option "
                                                   "“%(option)s” of the product “%(name)s”."))
register("billing-product", "item-added", _l("Added a product to the package “%(name)s”."))
register("billing-product", "option-updated", _l("Renamed the option “%(option)s” of the product “%(name)s”."))
register("billing-product", "option-removed", _l("Removed the option “%(option)s” from the product “%(name)s”."))
register("billing-product", "item-updated", _l("Changed “%(item)s” in the package “%(name)s”."),
         refs={"item": "billing-product"})
register("billing-product", "item-removed", _l("Removed “%(item)s” from the package “%(name)s”."),
         refs={"item": "billing-product"})
register("billing-tax-rule", "set", _l("Set the tax rule %(name)s."))
register("user", "billing-granted", _l("Gave %(name)s the right to change billing."))
register("user", "billing-revoked", _l("Took the right to change billing from %(name)s."))
