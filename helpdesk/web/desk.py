"""The staff console's entry (the full console arrives with the staff console issue)."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.mailgateway import quarantine, reasons
from helpdesk.tickets import access
from helpdesk.tickets.models import CLOSED, Ticket
from helpdesk.web.forms import OpenFromQuarantineForm, PostForm

bp = Blueprint("desk", __name__, url_prefix="/agent")


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


@bp.route("/")
def index():
    tickets = db.session.scalars(
        access.visible_tickets(current_user).where(Ticket.status != CLOSED)
        .order_by(Ticket.last_activity_at.desc()).limit(50)
    ).all()
    return render_template("desk/index.html", tickets=tickets)


@bp.route("/quarantine")
def quarantine_list():
    rows = quarantine.quarantined(current_user)
    return render_template("desk/quarantine.html", rows=rows, reason=quarantine.reason, step=reasons.step_label,
                           form=PostForm(),
                           open_form=OpenFromQuarantineForm())


@bp.route("/quarantine/<int:inbound_id>/raw")
def quarantine_raw(inbound_id):
    data = quarantine.raw_bytes(current_user, inbound_id)
    # Served as a download of an opaque type: the bytes are untrusted and must never render here.
    return Response(data, mimetype="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="message-{inbound_id}.eml"'})


@bp.route("/quarantine/<int:inbound_id>/retry", methods=["POST"])
def quarantine_retry(inbound_id):
    if not PostForm().validate_on_submit():
        abort(400)
    outcome = quarantine.retry(current_user, inbound_id)
    if outcome.outcome == "quarantined":
        flash(_("The message is still in quarantine: %(reason)s", reason=outcome.reason.splitlines()[0]), "error")
    elif outcome.ticket_number:
        flash(_("Done: ticket #%(number)s.", number=outcome.ticket_number), "success")
    else:
        flash(_("Done: %(outcome)s.", outcome=reasons.outcome_label(outcome.outcome)), "success")
    return redirect(url_for("desk.quarantine_list"))


@bp.route("/quarantine/<int:inbound_id>/ticket", methods=["POST"])
def quarantine_open_ticket(inbound_id):
    form = OpenFromQuarantineForm()
    if form.validate_on_submit():
        try:
            number = quarantine.open_ticket_by_hand(current_user, inbound_id,
                                                    requester_email=form.requester_email.data,
                                                    subject=form.subject.data or None)
        except ValidationFailed as exc:
            for message in exc.errors.values():
                flash(message, "error")
        else:
            flash(_("Ticket #%(number)s opened from the message.", number=number), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("desk.quarantine_list"))
