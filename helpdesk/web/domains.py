"""The portal's domain pages: the availability check (guests too; rate limited per client), putting an available
name in the cart, and for a customer account's members with the services permission the domain request form
(after an order with a domain, or a package with a free domain, is active) and their requests' status. Views parse,
call one domains service and render; a GET writes nothing."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.billing import customers
from helpdesk.billing.catalogue_models import YEARLY
from helpdesk.billing.domain_prices import domain_price
from helpdesk.billing.pricing import CartItem
from helpdesk.domains import checks, domain_requests
from helpdesk.domains.models import (
    ACTION_LABELS,
    AVAILABILITY_LABELS,
    AVAILABLE,
    REGISTER,
    REQUEST_STATUS_LABELS,
    TRANSFER,
)
from helpdesk.domains.names import parse_name
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web import billing as billing_web
from helpdesk.web.account_context import current_account_id
from helpdesk.web.forms import apply_errors
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("domains", __name__, url_prefix="/domains")
NAMESERVER_FIELDS = 4


class CheckForm(FlaskForm):
    name = StringField(_l("Domain name"), validators=[Length(max=300)],
                       render_kw={"placeholder": _l("e.g. sparrow or sparrow.hu"), "spellcheck": "false"})


class OrderDomainForm(FlaskForm):
    name = HiddenField()


class RequestForm(FlaskForm):
    service = HiddenField()
    name = StringField(_l("Domain name"), validators=[Length(max=300)], render_kw={"spellcheck": "false"})
    action = RadioField(_l("Registration or transfer"), choices=[(REGISTER, ACTION_LABELS[REGISTER]),
                                                                 (TRANSFER, ACTION_LABELS[TRANSFER])],
                        default=REGISTER)
    auth_code = StringField(_l("Auth code (transfers only)"), validators=[Length(max=255)],
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    registrant_name = StringField(_l("Registrant's name"), validators=[Length(max=200)])
    registrant_organisation = StringField(_l("Organisation (optional)"), validators=[Length(max=200)])
    registrant_email = StringField(_l("Registrant's email address"), validators=[Length(max=254)])
    registrant_phone = StringField(_l("Phone"), validators=[Length(max=50)])
    registrant_address = TextAreaField(_l("Address"), validators=[Length(max=1000)], render_kw={"rows": 3})
    registrant_country = SelectField(_l("Country"), choices=[], validate_choice=False)
    nameserver_1 = StringField(_l("Name server 1"), validators=[Length(max=300)])
    nameserver_2 = StringField(_l("Name server 2"), validators=[Length(max=300)])
    nameserver_3 = StringField(_l("Name server 3 (optional)"), validators=[Length(max=300)])
    nameserver_4 = StringField(_l("Name server 4 (optional)"), validators=[Length(max=300)])



def _customers_only():
    if not current_user.is_customer:
        abort(404)


def check_rate_limit():
    return current_app.config["DOMAINS_CHECK_RATE_LIMIT"]


@bp.route("/check", methods=["GET", "POST"])
@limiter.limit(check_rate_limit, methods=["POST"])
def check():
    form, answers = CheckForm(), None
    if form.validate_on_submit():
        try:
            answers = checks.check_availability(form.name.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
    may_order = current_user.is_authenticated and current_user.is_customer
    return render_template("domains/check.html", form=form, answers=answers, labels=AVAILABILITY_LABELS,
                           available=AVAILABLE, order_form=OrderDomainForm(formdata=None), may_order=may_order)


@bp.route("/order", methods=["POST"])
@login_required
def order():
    """Put an available name in the cart as a year's registration of its TLD's domain product."""
    _customers_only()
    form = OrderDomainForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        name = parse_name(form.name.data)
    except ValidationFailed:
        abort(400)
    price = domain_price(name.ascii, billing_web.shop_currency())
    if price is None:
        flash(_("We do not offer this domain name's ending in this currency."), "error")
        return redirect(url_for(".check"))
    items = billing_web.cart_items()
    if not any(item.identifier == name.ascii and item.product_id == price.product_id for item in items):
        items.append(CartItem(product_id=price.product_id, cycle=YEARLY, options={"action": REGISTER},
                              identifier=name.ascii))
        billing_web._save_cart(items[:billing_web.CART_MAX])
    flash(_("%(name)s is in your cart.", name=name.unicode), "success")
    return redirect(url_for("billing.cart"))


@bp.route("/requests")
@login_required
def requests_page():
    _customers_only()
    account_id = current_account_id()
    return render_template("domains/requests.html",
                           requests=domain_requests.requests_of(_actor(), account_id),
                           entitlements=domain_requests.entitlements(_actor(), account_id),
                           statuses=REQUEST_STATUS_LABELS, actions=ACTION_LABELS)


def _prefill(form, actor, account_id, entitlement):
    defaults = domain_requests.registrant_defaults(actor, account_id)
    for key, value in defaults.items():
        getattr(form, f"registrant_{key}").data = value
    form.service.data = str(entitlement.service.id)
    form.name.data = entitlement.name
    form.action.data = entitlement.action


def _registrant(form) -> dict:
    return {key: getattr(form, f"registrant_{key}").data for key in domain_requests.REGISTRANT_FIELDS}


@bp.route("/requests/new/<id:service_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(check_rate_limit, methods=["POST"])
def new_request(service_id):
    _customers_only()
    actor, account_id = _actor(), current_account_id()
    entitlement = next((e for e in domain_requests.entitlements(actor, account_id) if e.service.id == service_id),
                       None)
    if entitlement is None:
        abort(404)
    form = RequestForm()
    countries = sorted(customers.countries(billing_web.reader_language()).items(), key=lambda pair: pair[1])
    form.registrant_country.choices = [("", "—"), *countries]
    if request.method == "GET":
        _prefill(form, actor, account_id, entitlement)
    elif form.validate_on_submit():
        try:
            filed = domain_requests.file_request(
                actor, account_id, service_id=service_id, name=form.name.data, action=form.action.data,
                auth_code=form.auth_code.data, registrant=_registrant(form),
                nameservers=[getattr(form, f"nameserver_{i}").data for i in range(1, NAMESERVER_FIELDS + 1)])
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"nameservers": "nameserver_1"})
        except Conflict:
            flash(_("A request for this service was filed a moment ago."), "error")
            return redirect(url_for(".requests_page"))
        else:
            flash(_("Successful"), "success")
            return redirect(url_for(".request_page", request_id=filed.id))
    return render_template("domains/request_form.html", form=form, entitlement=entitlement, actions=ACTION_LABELS)


@bp.route("/requests/<id:request_id>")
@login_required
def request_page(request_id):
    _customers_only()
    found = domain_requests.get_request(_actor(), current_account_id(), request_id)
    return render_template("domains/request.html", domain_request=found, statuses=REQUEST_STATUS_LABELS,
                           actions=ACTION_LABELS)
