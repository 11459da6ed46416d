"""Pay-per-case service in the portal: a device's ticket panel (its tickets with their priority and status, each
linking to its history; the button for a new ticket about it, or why not) and the account's case charges and running
debt against the ceiling, with the warning banner (``device_debt_banner``, for every device page) when it is
reached (issue 19)."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from helpdesk.accounts.memberships import acting_account_id
from helpdesk.devices import cases
from helpdesk.devices.case_models import CASE_STATE_LABELS
from helpdesk.devices.registry import get_device
from helpdesk.devices.status import status_of
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets.models import ANSWERED, CLOSED, IN_PROGRESS, OPEN, WAITING
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("device_cases", __name__)

# The panel's four statuses (the words): the ticket store's five, waiting on the customer read as answered.
PANEL_STATUSES = {OPEN: _l("Open"), IN_PROGRESS: _l("Under review"), ANSWERED: _l("Answered"),
                  WAITING: _l("Answered"), CLOSED: _l("Closed")}



@bp.app_template_global("device_debt_banner")
def device_debt_banner(account_id=None):
    """The debts at or above their ceiling of ``account_id`` (the customer's acting account when None), for the
    warning banner on device pages; [] for staff, visitors, members who may not see the account's billing and
    accounts within their ceiling."""
    if not (current_user.is_authenticated and current_user.is_customer):
        return []
    actor = _actor()
    account_id = account_id if account_id is not None else acting_account_id(actor)
    if account_id is None or not cases.may_see_charges(actor, account_id):
        return []
    return cases.debt_warnings(account_id)


@bp.route("/devices/<id:device_id>/tickets")
@login_required
def device_tickets(device_id):
    actor = _actor()
    if not actor.is_customer:
        abort(404)
    device = get_device(actor, device_id)
    status = status_of(device)
    account_id = device.account_id
    show_charges = cases.may_see_charges(actor, account_id)
    return render_template(
        "device_cases/tickets.html", device=device, status=status, verdict=cases.verdict_for(device, status),
        rows=cases.device_tickets(actor, device), statuses=PANEL_STATUSES, states=CASE_STATE_LABELS,
        charges=cases.charges_of(actor, account_id) if show_charges else None,
        debts=cases.account_debts(account_id) if show_charges else None, account_id=account_id)
