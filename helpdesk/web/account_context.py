"""Which customer account a logged-in customer acts for (issue 18). The choice lives in the Flask session; on
every request it is checked against the login's memberships and set on ``current_user.acting_account_id`` (the
default account when the membership is gone, so a removed member loses the account at once and a forged id in
the session grants nothing). Views ask ``current_account_id()``; the header's switcher posts to ``switch``."""
from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.accounts import memberships
from helpdesk.db import parse_id
from helpdesk.web.auth import safe_next
from helpdesk.web.forms import PostForm

bp = Blueprint("account_context", __name__)

SESSION_KEY = "acting_account"


def _customer():
    """The logged-in customer, else None."""
    if current_user.is_authenticated and current_user.is_customer:
        return current_user._get_current_object()
    return None


@bp.before_app_request
def _choose_account():
    user = _customer()
    if user is None:
        return
    chosen = session.get(SESSION_KEY)
    if chosen is not None and memberships.membership(user, chosen) is not None:
        user.acting_account_id = parse_id(chosen)
        return
    user.acting_account_id = memberships.default_account_id(user)
    if chosen is not None:  # the membership is gone (or the id never was one): forget it
        session.pop(SESSION_KEY, None)


def current_account_id() -> int | None:
    """The customer account this request acts for: the checked choice of a logged-in customer, else None."""
    user = _customer()
    return getattr(user, "acting_account_id", None) if user is not None else None


def act_for(account_id) -> None:
    """Act for ``account_id`` from the next request on (checked then, as every request is)."""
    session[SESSION_KEY] = account_id


@bp.app_context_processor
def _account_switcher():
    """``account_choices()``: the logged-in customer's memberships (for the header's switcher) and
    ``acting_account_id``, the one this request acts for."""
    def account_choices():
        return memberships.memberships_of(_customer()) if _customer() is not None else []

    return {"account_choices": account_choices, "acting_account_id": current_account_id}


@bp.route("/account/switch", methods=["POST"])
@login_required
def switch():
    user = _customer()
    if user is None:
        abort(404)
    if not PostForm().validate_on_submit():
        abort(400)
    chosen = memberships.membership(user, request.form.get("account_id"))
    if chosen is None:
        abort(404)  # not theirs, or not an account at all: the same answer
    act_for(chosen.account_id)
    flash(_("You now act for %(account)s.", account=chosen.account.name), "info")
    return redirect(safe_next(request.form.get("next")) or url_for("portal.index"))
