"""Ownership transfers in the portal (issue 19): the owner's request (and resending the code, or withdrawing), and
the new owner's confirmation pages, by the texted link or by the code with their national ID: reachable without
logging in, rate limited per client."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from helpdesk.actors import GUEST_FORM
from helpdesk.devices import transfers
from helpdesk.devices.transfer_models import STATUS_LABELS
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.device_installation import client_ip
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor

bp = Blueprint("device_transfers", __name__)


class TransferForm(FlaskForm):
    name = StringField(_l("New owner's full name"), validators=[Length(max=200)])
    national_id = StringField(_l("New owner's national ID"), validators=[Length(max=20)],
                              render_kw={"inputmode": "numeric", "dir": "ltr", "autocomplete": "off"})
    phone = StringField(_l("New owner's mobile phone (the code is sent there)"), validators=[Length(max=40)],
                        render_kw={"inputmode": "tel", "dir": "ltr", "autocomplete": "off"})
    ends_ownership = BooleanField(transfers.STATEMENT)


class CodeForm(FlaskForm):
    national_id = StringField(_l("Your national ID"), validators=[Length(max=20)],
                              render_kw={"inputmode": "numeric", "dir": "ltr", "autocomplete": "off"})
    code = StringField(_l("The six-digit code from the SMS"), validators=[Length(max=20)],
                       render_kw={"inputmode": "numeric", "dir": "ltr", "autocomplete": "one-time-code"})


def confirm_rate_limit():
    return current_app.config["DEVICES_TRANSFER_CONFIRM_RATE_LIMIT"]


def _customers_only():
    if not current_user.is_customer:
        abort(404)


def _page(device, found, form, status=200):
    open_transfer = next((t for t in found if t.is_open), None)
    return render_template("device_transfers/request.html", device=device, transfers=found, form=form,
                           open_transfer=open_transfer, statuses=STATUS_LABELS, post_form=PostForm()), status


@bp.route("/devices/<id:device_id>/transfer", methods=["GET", "POST"])
@login_required
def request_transfer(device_id):
    _customers_only()
    actor = current_actor()
    device, found = transfers.transfers_of(actor, device_id)
    form = TransferForm()
    if form.validate_on_submit():
        try:
            transfers.request_transfer(actor, device.id, name=form.name.data, national_id=form.national_id.data,
                                       phone=form.phone.data, ends_ownership=form.ends_ownership.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("We texted the new owner a code and a link. Once they confirm, our staff review the transfer."),
                  "success")
            return redirect(url_for(".request_transfer", device_id=device.id))
    return _page(device, found, form)


@bp.route("/devices/<id:device_id>/transfer/<id:transfer_id>/resend", methods=["POST"])
@login_required
def resend(device_id, transfer_id):
    _customers_only()
    if not PostForm().validate_on_submit():
        abort(400)
    transfers.resend_code(current_actor(), device_id, transfer_id)
    flash(_("We texted the new owner a new code and link; the old ones no longer work."), "success")
    return redirect(url_for(".request_transfer", device_id=device_id))


@bp.route("/devices/<id:device_id>/transfer/<id:transfer_id>/cancel", methods=["POST"])
@login_required
def cancel(device_id, transfer_id):
    _customers_only()
    if not PostForm().validate_on_submit():
        abort(400)
    transfers.cancel_transfer(current_actor(), device_id, transfer_id)
    flash(_("The transfer is cancelled."), "success")
    return redirect(url_for(".request_transfer", device_id=device_id))


def _visitor():
    return current_actor() if current_user.is_authenticated else GUEST_FORM


@bp.route(transfers.ACCEPT_PATH, methods=["GET", "POST"])
@limiter.limit(confirm_rate_limit, methods=["POST"])
def accept_by_code():
    form = CodeForm()
    if form.validate_on_submit():
        try:
            transfer = transfers.confirm_by_code(_visitor(), form.national_id.data, form.code.data, ip=client_ip())
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            return render_template("device_transfers/accepted.html", transfer=transfer)
    return render_template("device_transfers/accept_code.html", form=form)


@bp.route(f"{transfers.ACCEPT_PATH}/<token>", methods=["GET", "POST"])
@limiter.limit(confirm_rate_limit)
def accept_by_link(token):
    form = PostForm()
    if request.method == "POST" and form.validate_on_submit():
        transfer = transfers.confirm_by_link(_visitor(), token, ip=client_ip())
        return render_template("device_transfers/accepted.html", transfer=transfer)
    transfer = transfers.transfer_for_link(token)
    response = render_template("device_transfers/accept_link.html", transfer=transfer, form=form)
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
