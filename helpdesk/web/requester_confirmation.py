"""The public page behind the "yes, I sent this" link in the acknowledgement of a guest-form ticket given a
registered user's address: no login, the signed link stands for the address owner. Opening the link only asks
(mail scanners open links); the confirming POST confirms."""
from flask import Blueprint, render_template

from helpdesk.tickets import requester_confirmation
from helpdesk.web.forms import PostForm

bp = Blueprint("requester_confirmation", __name__)


@bp.route(requester_confirmation.CONFIRM_PATH + "<token>", methods=["GET", "POST"])
def confirm(token):
    try:
        ticket = requester_confirmation.read_link(token)
    except requester_confirmation.ConfirmLinkInvalid as exc:
        return render_template("requester_confirmation/invalid.html", expired=exc.expired), 410 if exc.expired else 404
    form = PostForm()
    if ticket.requester_unconfirmed and form.validate_on_submit():
        requester_confirmation.confirm_requester(ticket)
        return render_template("requester_confirmation/done.html", ticket=ticket)
    if not ticket.requester_unconfirmed:
        return render_template("requester_confirmation/done.html", ticket=ticket)
    return render_template("requester_confirmation/confirm.html", ticket=ticket, form=form, token=token)
