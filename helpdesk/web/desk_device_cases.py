"""The console's pay-per-case: the price list (difficulty × volume, per currency), charging a case on a ticket about a
pay-per-case device (the ticket page's "Device case" card links here), and the cases awaiting approval because the
account's debt was above the ceiling, with approve and refuse (issue 19). Changes are billing staff's."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.billing import money
from helpdesk.billing.access import may_manage
from helpdesk.devices import cases
from helpdesk.devices.case_models import (
    CASE_STATE_LABELS,
    DIFFICULTIES,
    DIFFICULTY_LABELS,
    VOLUME_LABELS,
    VOLUMES,
)
from helpdesk.devices.status import status_of
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor

bp = agents_only(Blueprint("desk_device_cases", __name__, url_prefix="/agent/devices/cases"))


class ChargeForm(FlaskForm):
    difficulty = SelectField(_l("Difficulty"),
                             choices=[SelectChoice(code, DIFFICULTY_LABELS[code]) for code in DIFFICULTIES])
    volume = SelectField(_l("Volume of work"), choices=[SelectChoice(code, VOLUME_LABELS[code]) for code in VOLUMES])
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=cases.NOTE_MAX)], render_kw={"rows": 3})


class DecisionForm(FlaskForm):
    note = TextAreaField(_l("Note (the customer reads it when refused)"), validators=[Length(max=cases.NOTE_MAX)],
                         render_kw={"rows": 2})


def _price_form(currency, prices, formdata=None):
    """A form with one amount field per difficulty × volume, filled with ``prices`` as the reader writes money."""

    class PriceForm(FlaskForm):
        pass

    locale = get_locale()
    for difficulty in DIFFICULTIES:
        for volume in VOLUMES:
            setattr(PriceForm, f"{difficulty}_{volume}", StringField(
                f"{DIFFICULTY_LABELS[difficulty]} · {VOLUME_LABELS[volume]}", validators=[Length(max=30)]))
    form = PriceForm(formdata=formdata)
    if formdata is None:
        for (difficulty, volume), amount in prices.items():
            form[f"{difficulty}_{volume}"].data = _amount_text(amount, currency, locale)
    return form


def _amount_text(amount, currency, locale) -> str:
    """An amount as the reader types it (Toman for Persian readers of rials), without the unit."""
    value = money.to_decimal(amount, currency, locale)
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)




@bp.app_template_global("device_case_of")
def device_case_of(ticket):
    """The device case of a console ticket page (None when the ticket is not about a device)."""
    return cases.case_for_ticket(ticket.id)


@bp.route("/")
def awaiting():
    rows = cases.awaiting_cases(_actor())
    return render_template("desk_device_cases/awaiting.html", rows=rows, may_decide=may_manage(_actor()),
                           decision_form=DecisionForm(formdata=None))


@bp.route("/<id:case_id>/decide", methods=["POST"])
def decide(case_id):
    form = DecisionForm()
    choice = request.form.get("decision")
    if not form.validate_on_submit() or choice not in ("approve", "refuse"):
        abort(400)
    try:
        case = cases.decide_case(_actor(), case_id, approve=choice == "approve", note=form.note.data)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for(".awaiting"))
    except ValidationFailed as exc:
        flash(next(iter(exc.errors.values())), "error")
        return redirect(url_for(".awaiting"))
    flash(_("Case of ticket #%(number)s approved.", number=case.ticket.number) if case.state == "approved"
          else _("Case of ticket #%(number)s refused; the ticket is closed.", number=case.ticket.number), "success")
    return redirect(url_for(".awaiting"))


def _render_charge(case, form, status=200):
    currency = cases.case_currency(case)
    return render_template("desk_device_cases/charge.html", case=case, form=form, currency=currency,
                           prices=cases.price_list(currency), status=status_of(case.device),
                           states=CASE_STATE_LABELS, difficulties=DIFFICULTY_LABELS, volumes=VOLUME_LABELS,
                           may_charge=cases.may_charge(case) and may_manage(_actor()),
                           debts=cases.account_debts(case.account_id)), status


@bp.route("/<id:case_id>/charge", methods=["GET", "POST"])
def charge(case_id):
    actor = _actor()
    case = cases.get_case(actor, case_id)
    form = ChargeForm()
    if request.method == "POST":
        if not may_manage(actor):
            raise NotAllowed()
        if form.validate_on_submit():
            try:
                done = cases.charge_case(actor, case.ticket_id, difficulty=form.difficulty.data,
                                         volume=form.volume.data, note=form.note.data)
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            except Conflict as exc:
                flash(exc.message, "error")
                return redirect(url_for(".charge", case_id=case.id))
            else:
                flash(_("Charged %(amount)s; invoice %(invoice)s is on the customer's account.",
                        amount=money.format_amount(done.amount, done.currency, get_locale()),
                        invoice=done.invoice.name), "success")
                return redirect(url_for("desk_tickets.show", number=case.ticket.number))
        return _render_charge(case, form, 400)
    return _render_charge(case, form)


@bp.route("/prices", methods=["GET", "POST"])
def prices():
    actor = _actor()
    currency = request.args.get("currency") or current_app.config["DEVICES_CASE_CURRENCY"]
    if currency not in money.CURRENCIES:
        abort(404)
    current = cases.price_list(currency)
    if request.method == "GET":
        return _render_prices(currency, _price_form(currency, current))
    if not may_manage(actor):
        raise NotAllowed()
    form = _price_form(currency, current, formdata=request.form)
    if not form.validate_on_submit():
        return _render_prices(currency, form, 400)
    amounts, errors, locale = {}, {}, get_locale()
    for difficulty in DIFFICULTIES:
        for volume in VOLUMES:
            name = f"{difficulty}_{volume}"
            text = (form[name].data or "").strip()
            try:
                amounts[(difficulty, volume)] = money.parse_amount(text, currency, locale) if text else None
            except money.AmountError as exc:
                errors[name] = str(exc)
    try:
        if errors:
            raise ValidationFailed(errors)
        cases.set_prices(actor, currency, amounts)
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _render_prices(currency, form, 400)
    flash(_("The case price list was saved."), "success")
    return redirect(url_for(".prices", currency=currency))


def _render_prices(currency, form, status=200):
    return render_template("desk_device_cases/prices.html", form=form, currency=currency,
                           currencies=money.CURRENCIES, difficulties=DIFFICULTY_LABELS, volumes=VOLUME_LABELS,
                           unit=money.unit_name(currency, get_locale()), may_edit=may_manage(_actor()),
                           post_form=PostForm(formdata=None)), status
