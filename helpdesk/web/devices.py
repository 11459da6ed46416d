"""The device buyer's portal: their devices, status, days remaining, contracts and renewal choices (issue 19).
Views parse, call one devices service and render; a GET writes nothing."""
from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.routing import BuildError
from wtforms import BooleanField, HiddenField, RadioField
from wtforms.validators import DataRequired

from helpdesk.accounts import memberships
from helpdesk.accounts.models import PERM_BILLING, PERM_SERVICES
from helpdesk.billing import orders
from helpdesk.billing.models import SOURCE_CREDIT
from helpdesk.devices import contracts, registry
from helpdesk.devices.models import PLAN_CANCELLED, PLAN_LABELS, PLAN_PAY_PER_CASE
from helpdesk.devices.status import SOURCE_LABELS, may_choose_plan, status_of
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.account_context import current_account_id
from helpdesk.web.billing_forms import as_choices
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("devices", __name__, url_prefix="/devices")

# The pages of the other parts a device page links to (issue 19's agreed endpoint names), if they exist yet.
DEVICE_LINKS = (
    ("device_installation.confirm", _l("Installation confirmation")),
    ("device_cases.device_tickets", _l("Tickets about this device")),
    ("device_transfers.request_transfer", _l("Transfer to a new owner")),
)


class RenewForm(FlaskForm):
    years = HiddenField()
    payment_method = RadioField(_l("Payment method"), validators=[DataRequired(_l("Choose a payment method."))])


class PlanForm(FlaskForm):
    plan = HiddenField()
    confirm = BooleanField(_l("Yes, I am sure"), validators=[DataRequired(_l("Tick the box to confirm."))])



def _customers_only():
    if not current_user.is_customer:
        abort(404)


@bp.app_context_processor
def _devices_nav():
    """``shows_devices()``: whether the portal's nav offers "Devices" (a member with the services permission of
    an account that owns devices); asked once per request."""
    def shows_devices():
        if "shows_devices" not in g:
            account_id = current_account_id()
            g.shows_devices = bool(account_id and memberships.has_permission(_actor(), account_id, PERM_SERVICES)
                                   and registry.account_has_devices(account_id))
        return g.shows_devices

    return {"shows_devices": shows_devices}


def _payment_choices(currency):
    labels = {SOURCE_CREDIT: _("Credit balance"), "bank_transfer": _("Bank transfer")}
    return as_choices((method, labels.get(method) or _("Card, paid online (%(provider)s)",
                                                       provider=method.capitalize()))
                      for method in orders.payment_methods(currency))


def device_links(device_id) -> list:
    links = []
    for endpoint, label in DEVICE_LINKS:
        try:
            links.append((url_for(endpoint, device_id=device_id), label))
        except BuildError:  # that part's page is not there (yet)
            continue
    return links


@bp.route("/")
@login_required
def index():
    _customers_only()
    account_id = current_account_id()
    if account_id is None:
        abort(404)
    found = registry.devices_of(_actor(), account_id)
    day = registry.today()
    return render_template("devices/list.html", devices=[(d, status_of(d, day)) for d in found],
                           plans=PLAN_LABELS)


def _render(device, status_code=200, renew_form=None, plan_form=None):
    actor = _actor()
    status = status_of(device)
    currency = contracts.contract_currency()
    renew_form = renew_form or RenewForm(formdata=None)
    renew_form.payment_method.choices = _payment_choices(currency)
    if renew_form.payment_method.data is None and renew_form.payment_method.choices:
        renew_form.payment_method.data = next((c.value for c in renew_form.payment_method.choices
                                               if c.value == "zarinpal"), renew_form.payment_method.choices[0].value)
    may_pay = memberships.has_permission(actor, device.account_id, PERM_BILLING)
    return render_template(
        "devices/device.html", device=device, status=status, history=contracts.contracts_of(actor, device.id),
        offers=contracts.renewal_offers(device) if may_choose_plan(status) else [], may_choose=may_choose_plan(status),
        may_pay=may_pay, waiting=contracts.pending_renewal(device), renew_form=renew_form,
        plan_form=plan_form or PlanForm(formdata=None), plans=PLAN_LABELS, pay_per_case=PLAN_PAY_PER_CASE,
        cancelled=PLAN_CANCELLED, sources=SOURCE_LABELS, links=device_links(device.id)), status_code


@bp.route("/<id:device_id>")
@login_required
def device_page(device_id):
    _customers_only()
    return _render(registry.get_device(_actor(), device_id))


@bp.route("/<id:device_id>/renew", methods=["POST"])
@login_required
def renew(device_id):
    _customers_only()
    actor = _actor()
    device = registry.get_device(actor, device_id)
    form = RenewForm()
    form.payment_method.choices = _payment_choices(contracts.contract_currency())
    if not form.validate_on_submit():
        return _render(device, 400, renew_form=form)
    try:
        placed = contracts.order_renewal(actor, device.id, years=form.years.data,
                                         payment_method=form.payment_method.data)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return _render(device, 400, renew_form=form)
    except (Conflict, NotAllowed) as exc:
        flash(str(exc.message), "error")
        return redirect(url_for(".device_page", device_id=device.id))
    flash(_("Your renewal is ordered: pay its invoice to extend the contract."), "success")
    return redirect(url_for("billing.invoice", invoice_id=placed.invoice.id))


@bp.route("/<id:device_id>/plan", methods=["POST"])
@login_required
def choose_plan(device_id):
    _customers_only()
    actor = _actor()
    device = registry.get_device(actor, device_id)
    form = PlanForm()
    if not form.validate_on_submit():
        return _render(device, 400, plan_form=form)
    try:
        contracts.choose_plan(actor, device.id, form.plan.data)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return _render(device, 400, plan_form=form)
    except (Conflict, NotAllowed) as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("Your choice is saved: %(plan)s.", plan=PLAN_LABELS[form.plan.data]), "success")
    return redirect(url_for(".device_page", device_id=device.id))
