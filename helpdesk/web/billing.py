"""The portal's billing pages: the catalogue (guests too) priced in the chosen currency, a product's order form, the
cart (held in the session: product ids and choices, never prices) and checkout, then a customer's orders, services,
invoices (web page and PDF; proof of payment, pay from credit), payments and credit ledger, and their billing
details. Every view parses its request and calls the billing services; a GET changes nothing in the database."""
import secrets
from dataclasses import asdict

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from helpdesk.billing import (
    access,
    catalogue,
    credit,
    customers,
    gateways,
    invoices,
    money,
    orders,
    services,
    transfers,
)
from helpdesk.billing.catalogue_models import CYCLES, INDIVIDUAL, text_in
from helpdesk.billing.errors import InsufficientCredit, InvoiceNotPayable
from helpdesk.billing.models import SOURCE_BANK_TRANSFER, SOURCE_CREDIT, BillingAccount
from helpdesk.billing.payments import payments_of
from helpdesk.billing.pricing import CartItem
from helpdesk.db import parse_id
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.web import billing_display
from helpdesk.web.billing_forms import (
    BillingDetailsForm,
    CheckoutForm,
    PayFromCreditForm,
    ProofForm,
    as_choices,
    order_form,
)
from helpdesk.web.downloads import content_disposition
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("billing", __name__, url_prefix="/billing")
billing_display.register(bp)

PER_PAGE = 25
CART_KEY, CART_VERSION_KEY, CURRENCY_KEY = "billing_cart", "billing_cart_version", "billing_currency"
CART_MAX = 20
# The currency a reader of each language sees first, until they choose one (or their billing account has one).
LANGUAGE_CURRENCY = {"fa": "IRR", "tr": "TRY", "hu": "HUF"}
INVOICE_STATES = ("all", invoices.UNPAID, invoices.PAID)



def _is_customer() -> bool:
    return current_user.is_authenticated and current_user.is_customer


def _customers_only():
    """A customer's own billing pages; staff read billing in the console."""
    if not current_user.is_customer:
        abort(404)


def reader_language() -> str:
    return str(get_locale() or "en").split("_")[0]


def shop_currency() -> str:
    """The currency the catalogue and cart are priced in: the one chosen with the switcher (kept in the session),
    else the customer's preferred one, else the reader's language's, else the desk's default."""
    asked = request.args.get("currency", "")
    if asked in money.CURRENCIES:
        session[CURRENCY_KEY] = asked
        return asked
    if session.get(CURRENCY_KEY) in money.CURRENCIES:
        return session[CURRENCY_KEY]
    account = customers.account_of(_actor()) if _is_customer() else None
    if account is not None:
        return account.currency
    return LANGUAGE_CURRENCY.get(reader_language(), current_app.config["BILLING_DEFAULT_CURRENCY"])


def _before():
    """The keyset page's ``before`` id from the query string (None: the first page; 404 when not an id)."""
    raw = request.args.get("before")
    if raw is None:
        return None
    before = parse_id(raw)
    if before is None:
        abort(404)
    return before


def _page(rows):
    """(the rows of this page, the id the next page starts before, or None)."""
    return rows[:PER_PAGE], (rows[PER_PAGE - 1].id if len(rows) > PER_PAGE else None)


# --------------------------------------------------------------------------- the catalogue

def offers(product, currency):
    """The product's prices in ``currency``, in the cycles' order."""
    return sorted((p for p in product.prices if p.currency == currency), key=lambda p: CYCLES.index(p.cycle))


@bp.route("/")
def catalogue_page():
    currency = shop_currency()
    return render_template("billing/catalogue.html", shelves=catalogue.shop_groups(currency), currency=currency,
                           offers=offers)


def _option_choices(product, language, currency):
    """{option code: (its name, [(choice code, name with what it adds per cycle)])} for the order form."""
    default = catalogue.default_language()
    options = {}
    for option in product.options:
        choices = []
        for choice in option.choices:
            label = text_in(choice.texts, language, default)
            extras = [billing_display.priced_cycle(price.amount, currency, price.cycle)
                      for price in sorted(choice.prices, key=lambda p: CYCLES.index(p.cycle))
                      if price.currency == currency and price.amount]
            choices.append((choice.code, f"{label} (+{', '.join(extras)})" if extras else label))
        options[option.code] = (text_in(option.texts, language, default), choices)
    return options


@bp.route("/products/<id:product_id>", methods=["GET", "POST"])
@limiter.limit("60 per minute", methods=["POST"])
def product(product_id):
    item = catalogue.get_product(product_id)
    if item is None:
        abort(404)
    currency = shop_currency()
    prices = offers(item, currency)
    form = order_form(item, _option_choices(item, reader_language(), currency))
    form.cycle.choices = as_choices((p.cycle, billing_display.priced_cycle(p.amount, currency, p.cycle))
                                    for p in prices)
    if request.method == "GET" and prices:
        form.cycle.data = prices[0].cycle
    if request.method == "POST":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        _customers_only()
        if form.validate_on_submit():
            return _add_to_cart(item, form)
    status = 400 if request.method == "POST" else 200
    return render_template("billing/product.html", product=item, form=form, prices=prices, currency=currency,
                           option_fields=[form[f"option-{o.code}"] for o in item.options]), status


def _add_to_cart(product, form):
    items = cart_items()
    if len(items) >= CART_MAX:
        flash(_("Your cart is full: order what is in it first."), "error")
        return redirect(url_for(".cart"))
    chosen = {o.code: form[f"option-{o.code}"].data for o in product.options}
    items.append(CartItem(product_id=product.id, cycle=form.cycle.data, options=chosen,
                          identifier=(form.identifier.data or "").strip(), quantity=form.quantity.data or 1))
    _save_cart(items)
    flash(_("Added to your cart."), "success")
    return redirect(url_for(".cart"))


# --------------------------------------------------------------------------- the cart and checkout

def cart_items() -> list[CartItem]:
    """The cart held in the session: product ids, cycles, choices, identifiers and quantities (never a price).
    Anything that is not such an entry is left out."""
    items = []
    for entry in (session.get(CART_KEY) or [])[:CART_MAX]:
        try:
            items.append(CartItem(product_id=int(entry["product_id"]), cycle=str(entry["cycle"]),
                                  options={str(k): str(v) for k, v in dict(entry.get("options") or {}).items()},
                                  identifier=str(entry.get("identifier") or "")[:200],
                                  quantity=int(entry.get("quantity") or 1)))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return items


def _save_cart(items):
    session[CART_KEY] = [asdict(item) for item in items]
    session[CART_VERSION_KEY] = secrets.token_urlsafe(12)


def _quote_account(actor, currency):
    """The customer's billing account, or (before their first order, since a GET writes nothing) an unsaved one
    with the defaults their account will start with, for pricing the cart."""
    account = customers.account_of(actor)
    if account is not None:
        return account
    return BillingAccount(user_id=actor.id, user=actor, name=actor.display_name, currency=currency,
                          country=current_app.config["BILLING_DEFAULT_COUNTRY"] or "", customer_type=INDIVIDUAL)


def payment_method_choices(account, currency, total):
    """(method, label) for checkout: bank transfer, the gateways for ``currency``, and the credit balance when it
    covers ``total``."""
    choices = []
    balance = credit.balance(account.id, currency) if account is not None and account.id else 0
    for method in orders.payment_methods(currency):
        if method == SOURCE_CREDIT:
            if total is not None and balance >= total and total > 0:
                choices.append((method, _("Credit balance (%(amount)s available)",
                                          amount=billing_display.money_filter(balance, currency))))
        elif method == SOURCE_BANK_TRANSFER:
            choices.append((method, _("Bank transfer")))
        else:
            choices.append((method, _("Card, paid online (%(provider)s)", provider=method.capitalize())))
    return as_choices(choices)


@bp.route("/cart")
@login_required
def cart():
    _customers_only()
    actor, currency = _actor(), shop_currency()
    items = cart_items()
    account = _quote_account(actor, currency)
    quote, errors = None, {}
    if items:
        try:
            quote = orders.quote(actor, account, items, currency=currency)
        except ValidationFailed as exc:
            errors = exc.errors
    form = CheckoutForm(cart=session.get(CART_VERSION_KEY, ""))
    form.payment_method.choices = payment_method_choices(account, currency,
                                                         quote.totals.gross if quote else None)
    if form.payment_method.choices:
        form.payment_method.data = form.payment_method.choices[0].value
    return render_template("billing/cart.html", items=items, quote=quote, errors=errors, form=form,
                           currency=currency, account=account, products=billing_display.products_by_id(items))


@bp.route("/cart/<id:position>/remove", methods=["POST"])
@login_required
def remove_from_cart(position):
    index = position - 1  # the cart's lines are numbered from 1 in URLs, like ids (the id converter)
    _customers_only()
    if not PostForm().validate_on_submit():
        abort(400)
    items = cart_items()
    if 0 <= index < len(items):
        del items[index]
        _save_cart(items)
    return redirect(url_for(".cart"))


@bp.route("/checkout", methods=["POST"])
@login_required
@limiter.limit("20 per minute")
def checkout():
    _customers_only()
    actor, currency, items = _actor(), shop_currency(), cart_items()
    form = CheckoutForm()
    form.payment_method.choices = as_choices((m, m) for m in orders.payment_methods(currency))
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for(".cart"))
    if not items or form.cart.data != session.get(CART_VERSION_KEY):
        flash(_("Your cart changed since you saw it: check it and order again."), "error")
        return redirect(url_for(".cart"))
    account = customers.open_account(actor, actor)
    try:
        placed = orders.place_order(actor, account, items, payment_method=form.payment_method.data,
                                    currency=currency)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for(".cart"))
    session.pop(CART_KEY, None)
    session.pop(CART_VERSION_KEY, None)
    return _after_order(actor, placed)


def _after_order(actor, placed):
    invoice = placed.invoice
    flash(_("Thank you: your order has been placed."), "success")
    if placed.payment_method == SOURCE_CREDIT and invoice.balance_due > 0:
        try:
            credit.pay_from_credit(actor, invoice, key=f"checkout-{placed.id}")
        except (InsufficientCredit, InvoiceNotPayable, ValidationFailed) as exc:
            flash(getattr(exc, "message", None) or _("The payment from your credit failed."), "error")
        else:
            flash(_("Paid from your credit balance."), "success")
    elif placed.payment_method not in (SOURCE_BANK_TRANSFER, SOURCE_CREDIT) and invoice.balance_due > 0:
        flash(_("Press “Pay by card” to pay online."), "info")
    return redirect(url_for(".invoice", invoice_id=invoice.id))


# --------------------------------------------------------------------------- orders and services

@bp.route("/orders")
@login_required
def my_orders():
    _customers_only()
    rows, next_before = _page(orders.orders_of(_actor(), before_id=_before(), limit=PER_PAGE + 1))
    return render_template("billing/orders.html", orders=rows, next_before=next_before)


@bp.route("/orders/<id:order_id>")
@login_required
def order(order_id):
    _customers_only()
    return render_template("billing/order.html", order=access.get_order(_actor(), order_id))


@bp.route("/services")
@login_required
def my_services():
    _customers_only()
    return render_template("billing/services.html", services=services.services_of(_actor()))


@bp.route("/services/<id:service_id>")
@login_required
def service(service_id):
    _customers_only()
    return render_template("billing/service.html", service=access.get_service(_actor(), service_id))


# --------------------------------------------------------------------------- invoices

@bp.route("/invoices")
@login_required
def my_invoices():
    _customers_only()
    state = request.args.get("state", "all")
    if state not in INVOICE_STATES:
        state = "all"
    rows = invoices.invoices_of(_actor(), state=None if state == "all" else state, before_id=_before(),
                                limit=PER_PAGE + 1)
    rows, next_before = _page(rows)
    return render_template("billing/invoices.html", invoices=rows, state=state, states=INVOICE_STATES,
                           next_before=next_before)


def card_pay_url(invoice_id, gateway) -> str:
    """Where "Pay by card" posts: the card gateways' route (web/payment_gateways.py)."""
    try:
        return url_for("payment_gateways.pay", invoice_id=invoice_id, gateway=gateway)
    except BuildError:
        return f"{url_for('.invoice', invoice_id=invoice_id)}/pay/{gateway}"


def _render_invoice(invoice, status=200, proof_form=None):
    actor = _actor()
    payable = invoice.balance_due > 0
    balance = credit.balance(invoice.account_id, invoice.currency) if payable else 0
    return render_template(
        "billing/invoice.html", invoice=invoice, totals=invoices.totals_by_rate(invoice),
        payments=payments_of(actor, invoice), proofs=transfers.proofs_of(actor, invoice),
        transfer=transfers.transfer_instructions(actor, invoice, reader_language()) if payable else None,
        card_gateways=[g.name for g in gateways.enabled_gateways(invoice.currency)] if payable else [],
        card_pay_url=card_pay_url, credit_available=balance,
        proof_form=proof_form or ProofForm(formdata=None),
        credit_form=PayFromCreditForm(formdata=None, key=secrets.token_urlsafe(16))), status


@bp.route("/invoices/<id:invoice_id>")
@login_required
def invoice(invoice_id):
    _customers_only()
    return _render_invoice(access.get_invoice(_actor(), invoice_id))


@bp.route("/invoices/<id:invoice_id>/pdf")
@login_required
def invoice_pdf(invoice_id):
    _customers_only()
    from helpdesk.billing import pdf  # fpdf and the fonts load on the first PDF, not at every process start

    name, data = pdf.invoice_pdf(_actor(), invoice_id)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"})


@bp.route("/invoices/<id:invoice_id>/proof", methods=["POST"])
@login_required
@limiter.limit("20 per minute")
def upload_proof(invoice_id):
    _customers_only()
    actor = _actor()
    invoice_row = access.get_invoice(actor, invoice_id)
    form = ProofForm()
    upload = form.proof.data if form.validate_on_submit() else None
    if upload is None or not getattr(upload, "filename", None):
        form.proof.errors = [*form.proof.errors, _("Choose the file of your bank receipt.")]
        return _render_invoice(invoice_row, 400, proof_form=form)
    try:
        transfers.upload_proof(actor, invoice_row, filename=upload.filename,
                               content_type=upload.mimetype or "application/octet-stream", data=upload.read())
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _render_invoice(invoice_row, 400, proof_form=form)
    flash(_("Thank you: we received your proof of payment."), "success")
    return redirect(url_for(".invoice", invoice_id=invoice_row.id))


@bp.route("/invoices/<id:invoice_id>/pay-from-credit", methods=["POST"])
@login_required
@limiter.limit("20 per minute")
def pay_from_credit(invoice_id):
    _customers_only()
    actor = _actor()
    invoice_row = access.get_invoice(actor, invoice_id)
    form = PayFromCreditForm()
    if not form.validate_on_submit():
        abort(400)
    amount = min(credit.balance(invoice_row.account_id, invoice_row.currency), invoice_row.balance_due)
    try:
        if amount <= 0:
            raise InsufficientCredit()
        credit.pay_from_credit(actor, invoice_row, amount=amount, key=f"invoice-{invoice_row.id}-{form.key.data}")
    except (InsufficientCredit, InvoiceNotPayable) as exc:
        flash(exc.message, "error")
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(_("Paid from your credit balance."), "success")
    return redirect(url_for(".invoice", invoice_id=invoice_row.id))


@bp.route("/payments/<id:payment_id>")
@login_required
def payment(payment_id):
    _customers_only()
    return render_template("billing/payment.html", payment=access.get_payment(_actor(), payment_id))


@bp.route("/proofs/<id:proof_id>")
@login_required
def proof(proof_id):
    _customers_only()
    row = access.get_proof(_actor(), proof_id)
    # An opaque download: whatever was uploaded never renders in the page's origin.
    return Response(transfers.proof_bytes(row), mimetype="application/octet-stream",
                    headers={"Content-Disposition": content_disposition(row.filename)})


# --------------------------------------------------------------------------- credit and billing details

@bp.route("/balance")
@login_required
def balance():
    _customers_only()
    actor = _actor()
    account_id = customers.account_id_of(actor)
    balances, entries, next_before = {}, [], None
    if account_id is not None:
        balances = credit.balances(actor, account_id)
        entries, next_before = _page(credit.ledger(actor, account_id, before_id=_before(), limit=PER_PAGE + 1))
    return render_template("billing/balance.html", balances=balances, entries=entries, next_before=next_before)


def country_choices(language):
    names = customers.countries(language)
    return as_choices([("", "—"), *sorted(names.items(), key=lambda item: item[1])])


@bp.route("/details", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute", methods=["POST"])
def details():
    _customers_only()
    actor = _actor()
    access.require_customer_area(actor)  # the billing permission of the account they act for (403 without)
    account = customers.account_of(actor)
    form = BillingDetailsForm(obj=account) if request.method == "GET" and account else BillingDetailsForm()
    if request.method == "GET" and account is None:
        form.name.data = actor.display_name
        form.currency.data = shop_currency()
    form.country.choices = country_choices(reader_language())
    if form.validate_on_submit():
        values = {name: form[name].data or "" for name in customers.DETAILS}
        try:
            customers.update_details(actor, account or customers.open_account(actor, actor), **values)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Your billing details were saved. Invoices already made keep the details they were made "
                    "with."), "success")
            return redirect(url_for(".cart") if request.args.get("back") == "cart" else url_for(".details"))
    status = 400 if request.method == "POST" else 200
    return render_template("billing/details.html", form=form), status
