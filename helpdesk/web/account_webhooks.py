"""Webhooks in the portal (issue 20): the endpoints of the customer account the login acts for, which hear of that
account's events. For its owners only: a member who is not an owner, a customer without an account and staff get
404, a visitor the login page. The pages are webhook_pages'; the service checks the owner again."""
from flask import Blueprint, abort, current_app
from flask_login import login_required

from helpdesk.accounts import memberships
from helpdesk.web.account_context import current_account_id
from helpdesk.web.guards import current_actor
from helpdesk.web.webhook_pages import Scope, add_webhook_pages

bp = Blueprint("account_webhooks", __name__, url_prefix="/account/webhooks")


@bp.before_request
@login_required
def _owners_only():
    account_id = current_account_id()  # None for staff and for a customer of no account
    own = memberships.membership(current_actor(), account_id) if account_id is not None else None
    if own is None or not own.is_owner:
        abort(404)


def _send_limit():
    return current_app.config["ACCOUNT_FORM_RATE_LIMIT"]


add_webhook_pages(bp, Scope(account_id=current_account_id, templates="account/webhooks", desk=False,
                            send_limit=_send_limit))
