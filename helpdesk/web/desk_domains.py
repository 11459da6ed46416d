"""Domain requests in the staff console: the queue (open, done, rejected), a request's details, and for billing
staff the decisions: mark done (with the registrar's reference if any), reject with a reason the customer reads,
or send it to the configured registrar (a failure keeps it open and shows the registrar's error)."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.billing import domain_prices, money
from helpdesk.billing.access import may_manage
from helpdesk.billing.catalogue import product_name
from helpdesk.billing.catalogue_models import DOMAIN, PACKAGE, DomainPrice, Product
from helpdesk.db import parse_id
from helpdesk.domains import queue
from helpdesk.domains.models import ACTION_LABELS, REQUEST_OPEN, REQUEST_STATUS_LABELS
from helpdesk.domains.registrars import RegistrarError, current_registrar
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor

bp = agents_only(Blueprint("desk_domains", __name__, url_prefix="/agent/domains"))


class DoneForm(FlaskForm):
    reference = StringField(_l("Registrar's reference (optional)"), validators=[Length(max=200)])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the customer reads it)"), validators=[Length(max=2000)],
                           render_kw={"rows": 3})


class DomainPriceForm(FlaskForm):
    product = SelectField(_l("Domain product"), validate_choice=False)
    tld = StringField(_l("TLD (without the dot)"), validators=[Length(max=63)])
    currency = SelectField(_l("Currency"), choices=[(code, code) for code in money.CURRENCIES], validate_choice=False)
    registration = StringField(_l("Registration, per year"), validators=[Length(max=30)])
    transfer = StringField(_l("Transfer"), validators=[Length(max=30)])


class FreeDomainForm(FlaskForm):
    free_domain = BooleanField(_l("Includes one free domain (the first year of one registration)"))




@bp.route("/")
def index():
    status = request.args.get("status", REQUEST_OPEN)
    if status not in REQUEST_STATUS_LABELS:
        abort(404)
    before = request.args.get("before")
    rows = queue.queue(_actor(), status, before_id=parse_id(before) if before else None)
    return render_template("desk/domains/queue.html", rows=rows, status=status, statuses=REQUEST_STATUS_LABELS,
                           actions=ACTION_LABELS)


def _render(found, status=200, done_form=None, reject_form=None):
    actor = _actor()
    return render_template(
        "desk/domains/request.html", domain_request=found, statuses=REQUEST_STATUS_LABELS, actions=ACTION_LABELS,
        may_decide=queue.may_decide(actor), registrar=current_registrar(), post_form=PostForm(formdata=None),
        done_form=done_form or DoneForm(formdata=None), reject_form=reject_form or RejectForm(formdata=None)), status


@bp.route("/<id:request_id>")
def request_page(request_id):
    return _render(queue.get_for_staff(_actor(), request_id))


@bp.route("/<id:request_id>/done", methods=["POST"])
def mark_done(request_id):
    actor = _actor()
    found = queue.get_for_staff(actor, request_id)
    form = DoneForm()
    if not form.validate_on_submit():
        return _render(found, 400, done_form=form)
    try:
        queue.mark_done(actor, found, reference=form.reference.data)
    except Conflict as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("The request is done; the customer sees it."), "success")
    return redirect(url_for(".request_page", request_id=request_id))


@bp.route("/<id:request_id>/reject", methods=["POST"])
def reject(request_id):
    actor = _actor()
    found = queue.get_for_staff(actor, request_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            queue.reject(actor, found, reason=form.reason.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        except Conflict as exc:
            flash(str(exc.message), "error")
            return redirect(url_for(".request_page", request_id=request_id))
        else:
            flash(_("The request is rejected; the customer sees your reason."), "success")
            return redirect(url_for(".request_page", request_id=request_id))
    return _render(queue.get_for_staff(actor, request_id), 400, reject_form=form)


@bp.route("/<id:request_id>/send", methods=["POST"])
def send(request_id):
    actor = _actor()
    found = queue.get_for_staff(actor, request_id)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        queue.send_to_registrar(actor, found)
    except RegistrarError as exc:
        flash(_("The registrar did not accept the request: %(error)s", error=exc.message), "error")
    except Conflict as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("The registrar accepted the request; it is done."), "success")
    return redirect(url_for(".request_page", request_id=request_id))


# --------------------------------------------------------------------------- domain prices (billing staff)

def _price_page(form=None, status=200):
    language = str(get_locale() or "en").split("_")[0]
    products = db.session.scalars(sa.select(Product).where(Product.kind == DOMAIN).order_by(Product.id)).all()
    packages = db.session.scalars(sa.select(Product).where(Product.kind == PACKAGE).order_by(Product.id)).all()
    prices = db.session.scalars(sa.select(DomainPrice).order_by(DomainPrice.product_id, DomainPrice.tld,
                                                                DomainPrice.currency)).all()
    form = form or DomainPriceForm(formdata=None)
    form.product.choices = [(str(p.id), product_name(p, language)) for p in products]
    return render_template("desk/domains/prices.html", form=form, prices=prices, packages=packages,
                           name_of=lambda p: product_name(p, language), post_form=PostForm(formdata=None),
                           may_change=may_manage(_actor())), status


@bp.route("/prices")
def prices():
    return _price_page()


def _amount(form, field, currency):
    try:
        return money.parse_amount(form[field].data, currency, get_locale())
    except money.AmountError as exc:
        form[field].errors = [*form[field].errors, str(exc)]
        return None


@bp.route("/prices", methods=["POST"])
def set_price():
    if not may_manage(_actor()):
        raise NotAllowed()
    form = DomainPriceForm()
    if not form.validate_on_submit():
        return _price_page(form, 400)
    product = db.session.get(Product, parse_id(form.product.data) or 0)
    if product is None or product.kind != DOMAIN:
        form.product.errors = [_("Choose a domain product.")]
        return _price_page(form, 400)
    currency = form.currency.data if form.currency.data in money.CURRENCIES else "EUR"
    registration, transfer = _amount(form, "registration", currency), _amount(form, "transfer", currency)
    if registration is None or transfer is None:
        return _price_page(form, 400)
    try:
        domain_prices.set_domain_price(_actor(), product, tld=form.tld.data, currency=currency,
                                       registration=registration, transfer=transfer)
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _price_page(form, 400)
    flash(_("The prices of .%(tld)s are set.", tld=form.tld.data.strip().lower().lstrip(".")), "success")
    return redirect(url_for(".prices"))


@bp.route("/prices/packages/<id:product_id>", methods=["POST"])
def set_free_domain(product_id):
    if not may_manage(_actor()):
        raise NotAllowed()
    package = db.session.get(Product, product_id)
    if package is None or package.kind != PACKAGE:
        abort(404)
    form = FreeDomainForm()
    if not form.validate_on_submit():
        abort(400)
    domain_prices.set_free_domain(_actor(), package, form.free_domain.data)
    flash(_("Saved."), "success")
    return redirect(url_for(".prices"))
