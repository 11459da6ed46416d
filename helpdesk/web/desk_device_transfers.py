"""The console's ownership transfers and installation confirmations (issue 19): the transfers the new owner
confirmed, waiting for approval (approve, or refuse with a reason); a device's signed installation record with its
"hash verified" check and the notes staff counter-sign on it."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from helpdesk.devices import installation, transfers
from helpdesk.devices.transfer_models import STATUS_LABELS
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.device_installation import record_context
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import agents_only, current_actor

bp = agents_only(Blueprint("desk_device_transfers", __name__, url_prefix="/agent"))


class RefuseForm(FlaskForm):
    reason = TextAreaField(_l("Reason (both parties read it)"), validators=[Length(max=2000)], render_kw={"rows": 3})


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[Length(max=installation.NOTE_MAX)], render_kw={"rows": 3})



@bp.route("/device-transfers")
def index():
    actor = current_actor()
    return render_template("desk_device_transfers/index.html", waiting=transfers.waiting_for_approval(actor),
                           recent=transfers.recent_transfers(actor), statuses=STATUS_LABELS)


def _transfer_page(transfer_id, refuse_form=None, status=200):
    transfer = transfers.get_transfer(current_actor(), transfer_id)
    return render_template(
        "desk_device_transfers/transfer.html", transfer=transfer, statuses=STATUS_LABELS,
        new_account=transfers.new_owner_account(transfer), debt_rule=current_app.config["DEVICES_TRANSFER_DEBT"],
        debts=transfers.open_debt(transfer.from_account_id),
        approve_form=PostForm(), refuse_form=refuse_form or RefuseForm(formdata=None)), status


@bp.route("/device-transfers/<id:transfer_id>")
def transfer(transfer_id):
    return _transfer_page(transfer_id)


@bp.route("/device-transfers/<id:transfer_id>/approve", methods=["POST"])
def approve(transfer_id):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        transfers.approve_transfer(current_actor(), transfer_id)
    except transfers.NewOwnerHasNoAccount as exc:
        flash(exc.message, "error")
        return _transfer_page(transfer_id, status=409)
    flash(_("The transfer is approved: the device belongs to the new owner's account now."), "success")
    return redirect(url_for(".transfer", transfer_id=transfer_id))


@bp.route("/device-transfers/<id:transfer_id>/refuse", methods=["POST"])
def refuse(transfer_id):
    form = RefuseForm()
    if not form.validate_on_submit():
        return _transfer_page(transfer_id, refuse_form=form, status=400)
    try:
        transfers.refuse_transfer(current_actor(), transfer_id, form.reason.data)
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _transfer_page(transfer_id, refuse_form=form, status=400)
    flash(_("The transfer is refused; both parties are told why."), "success")
    return redirect(url_for(".transfer", transfer_id=transfer_id))


def _installation_page(device_id, form=None, status=200):
    device, record = installation.confirmation_of(current_actor(), device_id)
    context = record_context(record) if record is not None else {"record": None}
    return render_template("desk_device_transfers/installation.html", device=device,
                           form=form or NoteForm(formdata=None), **context), status


@bp.route("/devices/<id:device_id>/installation")
def installation_record(device_id):
    return _installation_page(device_id)


@bp.route("/devices/<id:device_id>/installation/notes", methods=["POST"])
def add_note(device_id):
    form = NoteForm()
    if form.validate_on_submit():
        try:
            installation.add_note(current_actor(), device_id, form.text.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The note is counter-signed."), "success")
            return redirect(url_for(".installation_record", device_id=device_id))
    return _installation_page(device_id, form=form, status=400)
