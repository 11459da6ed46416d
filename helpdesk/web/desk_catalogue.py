"""The catalogue in the staff console: product groups, products and packages with their texts per language, prices
per billing cycle and currency (with setup fees, net or gross), configurable options and what each choice adds,
package contents, and the tax rules per country and customer type. Agents read it; billing staff change it through
billing.catalogue, which checks every field and answers with all the problems at once."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from helpdesk.billing import catalogue, money
from helpdesk.billing.catalogue_models import CUSTOMER_TYPE_LABELS, PACKAGE, ProductGroup
from helpdesk.db import parse_id
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.web.billing import country_choices, reader_language
from helpdesk.web.billing_forms import (
    ChoicePriceForm,
    GroupForm,
    OptionForm,
    PackageItemEditForm,
    PackageItemForm,
    PriceForm,
    ProductForm,
    RemovePriceForm,
    TaxRuleForm,
    as_choices,
    choice_texts_from,
    choice_texts_into,
    option_edit_form,
    texts_from,
    texts_into,
)
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor

bp = agents_only(Blueprint("desk_catalogue", __name__, url_prefix="/agent/billing/catalogue"))




def _group(group_id) -> ProductGroup:
    group = db.session.get(ProductGroup, parse_id(group_id)) if parse_id(group_id) else None
    if group is None:
        abort(404)
    return group


def _product(product_id):
    product = catalogue.get_product(product_id, for_sale=False)
    if product is None:
        abort(404)
    return product


def _amount(form, field, currency):
    """An amount typed in ``form[field]`` in ``currency``, in minor units; None with the field's error set."""
    try:
        return money.parse_amount(form[field].data, currency, get_locale())
    except money.AmountError as exc:
        form[field].errors = [*form[field].errors, str(exc)]
        return None


# --------------------------------------------------------------------------- the catalogue and tax rules

def _tax_form(form=None):
    form = form or TaxRuleForm(formdata=None)
    form.country.choices = [SelectChoice("", _("Any country")), *country_choices(reader_language())[1:]]
    form.customer_type.choices = as_choices([("", _("Any customer")),
                                             *((code, str(label)) for code, label in CUSTOMER_TYPE_LABELS.items())])
    return form


@bp.route("/")
def index(tax_form=None, status=200):
    actor = _actor()
    return render_template("desk/billing/catalogue.html", groups=catalogue.console_groups(actor),
                           tax_rules=catalogue.tax_rules(actor), tax_form=_tax_form(tax_form)), status


@bp.route("/tax-rules", methods=["POST"])
def set_tax_rule():
    form = _tax_form(TaxRuleForm())
    if form.validate_on_submit():
        try:
            rate = money.parse_rate(form.rate.data, get_locale())
            catalogue.set_tax_rule(_actor(), country=form.country.data, customer_type=form.customer_type.data,
                                   name=form.name.data, rate_bp=rate)
        except money.AmountError as exc:
            form.rate.errors = [str(exc)]
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"rate": "rate"})
        else:
            flash(_("Tax rule saved."), "success")
            return redirect(url_for(".index"))
    return index(tax_form=form, status=400)


# --------------------------------------------------------------------------- groups

@bp.route("/groups/new", methods=["GET", "POST"])
@bp.route("/groups/<id:group_id>", methods=["GET", "POST"])
def group(group_id=None):
    row = _group(group_id) if group_id else None
    form = GroupForm(formdata=None, obj=row) if request.method == "GET" else GroupForm()
    if request.method == "GET" and row is not None:
        texts_into(form, row.texts)
    if form.validate_on_submit():
        try:
            if row is None:
                row = catalogue.create_group(_actor(), code=form.code.data, texts=texts_from(form),
                                             position=form.position.data or 0, visible=form.visible.data)
            else:
                catalogue.update_group(_actor(), row, texts=texts_from(form), position=form.position.data or 0,
                                       visible=form.visible.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Product group saved."), "success")
            return redirect(url_for(".index"))
    status = 400 if request.method == "POST" else 200
    return render_template("desk/billing/group_form.html", group=row, form=form), status


# --------------------------------------------------------------------------- products

def _group_choices():
    return as_choices((str(g.id), g.code) for g in catalogue.console_groups(_actor()))


@bp.route("/products/new", methods=["GET", "POST"])
def new_product():
    form = ProductForm(group=request.args.get("group", ""))
    form.group.choices = _group_choices()
    if form.validate_on_submit():
        try:
            product = catalogue.create_product(
                _actor(), group=_group(form.group.data) if parse_id(form.group.data) else None, code=form.code.data,
                texts=texts_from(form), kind=form.kind.data, taxable=form.taxable.data, active=form.active.data,
                position=form.position.data or 0)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Product saved. Now give it its prices."), "success")
            return redirect(url_for(".product", product_id=product.id))
    status = 400 if request.method == "POST" else 200
    return render_template("desk/billing/product_new.html", form=form), status


def _product_forms(product, **given):
    """The product page's forms (those given were posted and carry their errors)."""
    language = reader_language()
    edit = given.get("edit")
    if edit is None:
        edit = ProductForm(formdata=None, obj=product, group=str(product.group_id))
        texts_into(edit, product.texts)
    edit.group.choices = _group_choices()
    choice_form = given.get("choice_price") or ChoicePriceForm(formdata=None)
    choice_form.choice.choices = as_choices((str(c.id), f"{o.code}: {c.code}") for o in product.options
                                            for c in o.choices)
    item_form = given.get("item") or PackageItemForm(formdata=None)
    item_form.item.choices = as_choices((str(p.id), catalogue.product_name(p, language))
                                        for g in catalogue.console_groups(_actor()) for p in g.products
                                        if p.kind != PACKAGE and p.id != product.id)
    option_forms = {}
    for option in product.options:
        option_forms[option.id] = given.get(f"option-{option.id}")
        if option_forms[option.id] is None:
            option_forms[option.id] = option_edit_form(option, formdata=None)
            texts_into(option_forms[option.id], option.texts, description=False)
            choice_texts_into(option_forms[option.id], option)
    item_forms = {entry.id: given.get(f"item-{entry.id}")
                  or PackageItemEditForm(formdata=None, obj=entry, prefix=f"item-{entry.id}")
                  for entry in product.items}
    return {"edit_form": edit, "price_form": given.get("price") or PriceForm(formdata=None),
            "option_form": given.get("option") or OptionForm(formdata=None), "choice_form": choice_form,
            "item_form": item_form, "remove_form": RemovePriceForm(formdata=None), "option_forms": option_forms,
            "item_forms": item_forms}


def _render_product(product, status=200, **given):
    return render_template("desk/billing/product.html", product=product, **_product_forms(product, **given)), status


@bp.route("/products/<id:product_id>", methods=["GET", "POST"])
def product(product_id):
    row = _product(product_id)
    if request.method == "GET":
        return _render_product(row)
    form = ProductForm()
    form.group.choices = _group_choices()
    if form.validate_on_submit():
        try:
            catalogue.update_product(_actor(), row, texts=texts_from(form), active=form.active.data,
                                     taxable=form.taxable.data, position=form.position.data or 0,
                                     group=_group(form.group.data) if parse_id(form.group.data) else None)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Product saved."), "success")
            return redirect(url_for(".product", product_id=row.id))
    return _render_product(row, 400, edit=form)


@bp.route("/products/<id:product_id>/prices", methods=["POST"])
def set_price(product_id):
    row = _product(product_id)
    form = PriceForm()
    if form.validate_on_submit():
        amount = _amount(form, "amount", form.currency.data)
        setup_fee = _amount(form, "setup_fee", form.currency.data) if form.setup_fee.data else 0
        if amount is not None and setup_fee is not None:
            try:
                catalogue.set_price(_actor(), row, cycle=form.cycle.data, currency=form.currency.data, amount=amount,
                                    setup_fee=setup_fee, includes_tax=form.includes_tax.data)
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            else:
                flash(_("Price saved."), "success")
                return redirect(url_for(".product", product_id=row.id))
    return _render_product(row, 400, price=form)


@bp.route("/products/<id:product_id>/prices/remove", methods=["POST"])
def remove_price(product_id):
    row = _product(product_id)
    form = RemovePriceForm()
    if not form.validate_on_submit():
        abort(400)
    catalogue.remove_price(_actor(), row, cycle=form.cycle.data, currency=form.currency.data)
    flash(_("Price removed."), "success")
    return redirect(url_for(".product", product_id=row.id))


def _choices_typed(text, language):
    """The option's choices as typed, one a line ("code = name"), as catalogue.add_option takes them."""
    choices = []
    for line in (text or "").splitlines():
        code, _sep, name = line.partition("=")
        if code.strip():
            choices.append({"code": code.strip(), "texts": {language: {"name": (name or code).strip()}}})
    return choices


@bp.route("/products/<id:product_id>/options", methods=["POST"])
def add_option(product_id):
    row = _product(product_id)
    form = OptionForm()
    if form.validate_on_submit():
        language = catalogue.default_language()
        try:
            catalogue.add_option(_actor(), row, code=form.code.data, texts=texts_from(form, description=False),
                                 choices=_choices_typed(form.choices.data, language))
        except ValidationFailed as exc:
            apply_errors(form, {key if not key.startswith("choices") else "choices": value
                                for key, value in exc.errors.items()})
        else:
            flash(_("Option added. Now price its choices."), "success")
            return redirect(url_for(".product", product_id=row.id))
    return _render_product(row, 400, option=form)


@bp.route("/products/<id:product_id>/choice-prices", methods=["POST"])
def set_choice_price(product_id):
    row = _product(product_id)
    form = ChoicePriceForm()
    choices = {str(c.id): c for o in row.options for c in o.choices}
    form.choice.choices = as_choices((key, key) for key in choices)
    if form.validate_on_submit() and form.choice.data in choices:
        amount = _amount(form, "amount", form.currency.data)
        setup_fee = _amount(form, "setup_fee", form.currency.data) if form.setup_fee.data else 0
        if amount is not None and setup_fee is not None:
            try:
                catalogue.set_choice_price(_actor(), choices[form.choice.data], cycle=form.cycle.data,
                                           currency=form.currency.data, amount=amount, setup_fee=setup_fee)
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            else:
                flash(_("Price saved."), "success")
                return redirect(url_for(".product", product_id=row.id))
    return _render_product(row, 400, choice_price=form)


@bp.route("/products/<id:product_id>/items", methods=["POST"])
def add_package_item(product_id):
    row = _product(product_id)
    form = PackageItemForm()
    form.item.choices = []
    item = _product(form.item.data) if parse_id(form.item.data) else None
    if form.validate_on_submit() and item is not None:
        try:
            catalogue.add_package_item(_actor(), row, item, cycle=form.cycle.data,
                                       free_periods=form.free_periods.data or 0)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"package": "item"})
        else:
            flash(_("Added to the package."), "success")
            return redirect(url_for(".product", product_id=row.id))
    return _render_product(row, 400, item=form)


# --------------------------------------------------------------------------- changing options and package items

def _option(product, option_id):
    option = next((o for o in product.options if o.id == option_id), None)
    if option is None:
        abort(404)
    return option


def _entry(product, entry_id):
    entry = next((e for e in product.items if e.id == entry_id), None)
    if entry is None:
        abort(404)
    return entry


@bp.route("/products/<id:product_id>/options/<id:option_id>", methods=["POST"])
def update_option(product_id, option_id):
    row = _product(product_id)
    option = _option(row, option_id)
    form = option_edit_form(option)
    if form.validate_on_submit():
        try:
            catalogue.update_option(_actor(), option, texts=texts_from(form, description=False),
                                    choices=choice_texts_from(form, option))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Option saved."), "success")
            return redirect(url_for(".product", product_id=row.id))
    return _render_product(row, 400, **{f"option-{option.id}": form})


@bp.route("/products/<id:product_id>/options/<id:option_id>/remove", methods=["POST"])
def remove_option(product_id, option_id):
    row = _product(product_id)
    option = _option(row, option_id)
    if not PostForm().validate_on_submit():
        abort(400)
    catalogue.remove_option(_actor(), option)
    flash(_("Option removed."), "success")
    return redirect(url_for(".product", product_id=row.id))


@bp.route("/products/<id:product_id>/items/<id:entry_id>", methods=["POST"])
def update_package_item(product_id, entry_id):
    row = _product(product_id)
    entry = _entry(row, entry_id)
    form = PackageItemEditForm(prefix=f"item-{entry.id}")
    if form.validate_on_submit():
        try:
            catalogue.update_package_item(_actor(), entry, cycle=form.cycle.data,
                                          free_periods=form.free_periods.data or 0)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Package saved."), "success")
            return redirect(url_for(".product", product_id=row.id))
    return _render_product(row, 400, **{f"item-{entry.id}": form})


@bp.route("/products/<id:product_id>/items/<id:entry_id>/remove", methods=["POST"])
def remove_package_item(product_id, entry_id):
    row = _product(product_id)
    entry = _entry(row, entry_id)
    if not PostForm().validate_on_submit():
        abort(400)
    catalogue.remove_package_item(_actor(), entry)
    flash(_("Removed from the package."), "success")
    return redirect(url_for(".product", product_id=row.id))
