"""Adding and removing CCs from a ticket page: the same for the customer's page and the agent workspace,
which differ only in where they send the person afterwards. A refused form goes back to the ticket's page
(never left on the form's POST address) with what was typed and its errors, kept for one page view."""
from flask import abort, flash, session
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


_KEPT = "kept_ticket_form"
KEPT_VALUE_MAX = 2000  # a session cookie holds about 4 KB


def keep_form(form, ticket):
    """Keep ``form``'s typed values and errors in the session for the next view of ``ticket``'s page."""
    session[_KEPT] = {
        "ticket": ticket.number, "form": type(form).__name__,
        "values": {name: str(field.data or "")[:KEPT_VALUE_MAX] for name, field in form._fields.items()
                   if name != "csrf_token"},
        "errors": {name: [str(e) for e in field.errors] for name, field in form._fields.items() if field.errors},
    }


def kept_form(form_class, ticket):
    """The form ``keep_form`` kept for this ticket's page (with its errors), once; None when there is none."""
    kept = session.pop(_KEPT, None)
    if not isinstance(kept, dict) or kept.get("ticket") != ticket.number or kept.get("form") != form_class.__name__:
        return None
    form = form_class(formdata=None, data=kept.get("values") or {})
    for name, errors in (kept.get("errors") or {}).items():
        if name in form:
            form[name].errors = list(errors)
    return form


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
