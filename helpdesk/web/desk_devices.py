"""The console's devices: the device-type catalogue, registering devices to customer accounts, editing them,
searching them (serial, dongle ID, account; by status and type) and adding contract periods (issue 19). Staff
only; views parse, call one devices service and render."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import Length, Optional

from helpdesk.accounts.memberships import account_name
from helpdesk.devices import catalogue, contracts, registry
from helpdesk.devices.models import PLAN_LABELS
from helpdesk.devices.status import LABELS as STATUS_LABELS
from helpdesk.devices.status import SOURCE_LABELS, status_of
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.billing_forms import as_choices
from helpdesk.web.day_field import DayField
from helpdesk.web.forms import apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor

bp = agents_only(Blueprint("desk_devices", __name__, url_prefix="/agent/devices"))


class DeviceTypeForm(FlaskForm):
    code = StringField(_l("Code (e.g. acme-x200)"), validators=[Length(max=60)])
    brand = StringField(_l("Brand"), validators=[Length(max=100)])
    model = StringField(_l("Model"), validators=[Length(max=100)])
    warranty_months = IntegerField(_l("Warranty (months)"), default=12, validators=[Optional()])
    service_months = IntegerField(_l("Service contract (months)"), default=12, validators=[Optional()])
    contract_product_id = SelectField(_l("Renewal product (prices for 1, 2 and 3 years)"), validate_choice=False)
    active = BooleanField(_l("Offered for new devices"), default=True)


class DeviceForm(FlaskForm):
    device_type = SelectField(_l("Brand and model"), validate_choice=False)
    serial_number = StringField(_l("Serial number"), validators=[Length(max=100)])
    dongle_id = StringField(_l("Dongle or user ID"), validators=[Length(max=100)])
    installed_on = DayField(_l("Installation date"))
    warranty_ends_on = DayField(_l("Warranty until (empty: from the type)"))
    service_ends_on = DayField(_l("Service contract until (empty: from the type)"))


class PlanForm(FlaskForm):
    plan = SelectField(_l("Service plan after the contract"), validate_choice=False)


class ContractForm(FlaskForm):
    years = IntegerField(_l("Years"), validators=[Optional()])
    starts_on = DayField(_l("From (empty: the current end, or today)"))
    ends_on = DayField(_l("Until (instead of years)"))
    note = StringField(_l("Note"), validators=[Length(max=500)])




def _type_choices(active_only=True):
    return as_choices([("", "—")] + [(str(t.id), t.label) for t in catalogue.device_types(active_only=active_only)])


def _product_choices():
    return as_choices([("", _("None: not sold online"))] + [(str(p.id), p.code)
                                                             for p in catalogue.contract_products()])


def _plan_form(blank=False):
    form = PlanForm(formdata=None) if blank else PlanForm()
    form.plan.choices = as_choices((plan, str(PLAN_LABELS[plan])) for plan in contracts.CHOICES)
    return form


@bp.route("/")
def index():
    args = request.args
    found = registry.search_devices(_actor(), query=args.get("q", ""), status=args.get("status", ""),
                                    account_id=args.get("account"), device_type_id=args.get("type"),
                                    page=args.get("page", 1, type=int))
    day = registry.today()
    return render_template("desk_devices/index.html", found=found,
                           rows=[(d, status_of(d, day), account_name(d.account_id)) for d in found.devices],
                           statuses=STATUS_LABELS, types=catalogue.device_types(), args=args)


# --------------------------------------------------------------------------- device types

def _type_values(form) -> dict:
    return {"code": form.code.data, "brand": form.brand.data, "model": form.model.data,
            "warranty_months": form.warranty_months.data, "service_months": form.service_months.data,
            "contract_product_id": form.contract_product_id.data, "active": form.active.data}


@bp.route("/types", methods=["GET", "POST"])
def types():
    form = DeviceTypeForm()
    form.contract_product_id.choices = _product_choices()
    status = 200
    if form.validate_on_submit():
        try:
            catalogue.create_device_type(_actor(), **_type_values(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
            status = 400
        else:
            flash(_("The device type is added."), "success")
            return redirect(url_for(".types"))
    elif form.is_submitted():
        status = 400
    return render_template("desk_devices/types.html", types=catalogue.device_types(), form=form), status


@bp.route("/types/<id:type_id>", methods=["GET", "POST"])
def device_type(type_id):
    actor = _actor()
    found = catalogue.get_device_type(actor, type_id)
    form = DeviceTypeForm(obj=found if request.method == "GET" else None)
    form.contract_product_id.choices = _product_choices()
    if request.method == "GET":
        form.contract_product_id.data = str(found.contract_product_id or "")
    status = 200
    if form.validate_on_submit():
        try:
            catalogue.update_device_type(actor, found.id, **_type_values(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
            status = 400
        else:
            flash(_("The device type is saved."), "success")
            return redirect(url_for(".types"))
    elif form.is_submitted():
        status = 400
    return render_template("desk_devices/type.html", device_type=found, form=form), status


# --------------------------------------------------------------------------- devices

def _device_values(form) -> dict:
    return {"device_type": form.device_type.data, "serial_number": form.serial_number.data,
            "dongle_id": form.dongle_id.data, "installed_on": form.installed_on.data,
            "warranty_ends_on": form.warranty_ends_on.data, "service_ends_on": form.service_ends_on.data}


@bp.route("/accounts/<id:account_id>/new", methods=["GET", "POST"])
def register(account_id):
    name = account_name(account_id)
    if name is None:
        raise NotFound()
    form = DeviceForm()
    form.device_type.choices = _type_choices()
    status = 200
    if form.validate_on_submit():
        try:
            device = registry.register_device(_actor(), account_id, **_device_values(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
            status = 400
        else:
            flash(_("The device is registered to %(account)s.", account=name), "success")
            return redirect(url_for(".device_page", device_id=device.id))
    elif form.is_submitted():
        status = 400
    return render_template("desk_devices/register.html", form=form, account_id=account_id,
                           account_name=name), status


def _render(device, status_code=200, form=None, contract_form=None, plan_form=None):
    actor = _actor()
    if form is None:
        form = DeviceForm(formdata=None, obj=device)
        form.device_type.data = str(device.device_type_id)
    form.device_type.choices = _type_choices(active_only=False)
    return render_template(
        "desk_devices/device.html", device=device, status=status_of(device), form=form,
        contract_form=contract_form or ContractForm(formdata=None), plan_form=plan_form or _plan_form(blank=True),
        history=contracts.contracts_of(actor, device.id),
        account_name=account_name(device.account_id), plans=PLAN_LABELS, sources=SOURCE_LABELS), status_code


@bp.route("/<id:device_id>", methods=["GET", "POST"])
def device_page(device_id):
    actor = _actor()
    device = registry.get_device(actor, device_id)
    if request.method == "GET":
        return _render(device)
    form = DeviceForm()
    form.device_type.choices = _type_choices(active_only=False)
    if form.validate_on_submit():
        try:
            registry.update_device(actor, device.id, **_device_values(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The device is saved."), "success")
            return redirect(url_for(".device_page", device_id=device.id))
    return _render(device, 400, form=form)


@bp.route("/<id:device_id>/contracts", methods=["POST"])
def add_contract(device_id):
    actor = _actor()
    device = registry.get_device(actor, device_id)
    form = ContractForm()
    if form.validate_on_submit():
        try:
            contracts.add_contract(actor, device.id, years=form.years.data, starts_on=form.starts_on.data,
                                   ends_on=form.ends_on.data, note=form.note.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The contract period is added."), "success")
            return redirect(url_for(".device_page", device_id=device.id))
    return _render(device, 400, contract_form=form)


@bp.route("/<id:device_id>/plan", methods=["POST"])
def choose_plan(device_id):
    actor = _actor()
    device = registry.get_device(actor, device_id)
    form = _plan_form()
    if form.validate_on_submit():
        try:
            contracts.choose_plan(actor, device.id, form.plan.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The service plan is saved."), "success")
            return redirect(url_for(".device_page", device_id=device.id))
    return _render(device, 400, plan_form=form)
