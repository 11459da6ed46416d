"""Adding and removing CCs from a ticket page: the same for the customer's page and the agent workspace,
which differ only in where they send the person afterwards."""
from flask import abort, flash
from flask_babel import gettext as _

from helpdesk.errors import ValidationFailed
from helpdesk.tickets import service
from helpdesk.web.forms import apply_errors


def add_cc(actor, ticket, form) -> bool:
    """Add the form's addresses in copy; True when done (flashed), False to show the form again."""
    if not form.validate_on_submit():
        return False
    try:
        added = service.add_participants(actor, ticket, form.cc_addresses.data)
    except ValidationFailed as exc:
        apply_errors(form, exc.errors, {"cc": "cc_addresses"})
        return False
    if added:
        flash(_("Added in copy: %(emails)s", emails=", ".join(p.email for p in added)), "success")
    else:
        flash(_("These addresses were already on the ticket."), "info")
    return True


def remove_cc(actor, ticket, form):
    """Take the form's address out of copy; the outcome is flashed. A forged form is a 400."""
    if not form.validate_on_submit():
        abort(400)
    try:
        service.remove_participant(actor, ticket, form.email.data)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(_("%(email)s no longer receives copies.", email=form.email.data), "success")
