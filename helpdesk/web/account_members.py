"""The portal's customer account pages (issue 18): the account a login acts for (its permissions there, leaving
it), its members (invite, change permissions, remove) and activity for members who manage members, and the page
an invitation link opens. Every page works on the account the header's switcher chose (account_context)."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.accounts import activity, invitations, members, memberships
from helpdesk.accounts.errors import LinkExpired
from helpdesk.accounts.models import PERM_MEMBERS, PERMISSIONS
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.web.account_context import act_for, current_account_id
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor
from helpdesk.web.member_forms import InviteForm, PermissionsForm

bp = Blueprint("account_members", __name__)



def _account_id():
    """The account this request acts for; 404 for staff and for a customer who belongs to none."""
    account_id = current_account_id()
    if account_id is None:
        abort(404)
    return account_id


def _check_post():
    if not PostForm().validate_on_submit():
        abort(400)


@bp.route("/account")
@login_required
def overview():
    actor, account_id = _actor(), _account_id()
    own = memberships.membership(actor, account_id)
    return render_template("account/customer_account.html", account=own.account, own=own,
                           granted=members.granted(own), labels=members.PERMISSION_LABELS,
                           may_manage=own.allows(PERM_MEMBERS), button_form=PostForm())


@bp.route("/account/leave", methods=["POST"])
@login_required
def leave():
    actor, account_id = _actor(), _account_id()
    _check_post()
    name = memberships.account_name(account_id)
    try:
        members.leave(actor, account_id)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for(".overview"))
    flash(_("You left %(account)s.", account=name), "info")
    return redirect(url_for("portal.index"))


def _members_page(actor, account_id, form, status=200):
    return render_template(
        "account/account_members.html", account=members.get_account(actor, account_id),
        members=members.list_members(actor, account_id), invitations=invitations.pending(actor, account_id),
        form=form, button_form=PostForm(), labels=members.PERMISSION_LABELS, granted=members.granted,
        me=actor.id, own=memberships.membership(actor, account_id)), status


def _invitation_rate_limit():
    # Each invitation sends a mail to an address the inviter chooses: as few as the account forms allow.
    return current_app.config["ACCOUNT_FORM_RATE_LIMIT"]


@bp.route("/account/members", methods=["GET", "POST"])
@login_required
@limiter.limit(_invitation_rate_limit, methods=["POST"])
def members_page():
    actor, account_id = _actor(), _account_id()
    members.require_manager(actor, account_id)  # 403 before any form is read
    form = InviteForm()
    if not form.is_submitted():
        form.permissions.data = ["tickets"]
        return _members_page(actor, account_id, form)
    if form.validate():
        try:
            invitations.invite(actor, account_id, email=form.email.data, permissions=form.permissions.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("We sent an invitation to %(email)s.", email=form.email.data.strip()), "success")
            return redirect(url_for(".members_page"))
    return _members_page(actor, account_id, form, 400)


@bp.route("/account/members/<id:membership_id>", methods=["GET", "POST"])
@login_required
def member(membership_id):
    actor, account_id = _actor(), _account_id()
    target = members.get_member(actor, account_id, membership_id)
    form = PermissionsForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                members.set_permissions(actor, account_id, membership_id, permissions=form.permissions.data,
                                        owner=form.owner.data)
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            except Conflict as exc:
                flash(exc.message, "error")
            else:
                flash(_("Saved what %(name)s may do.", name=target.user.display_name), "success")
                return redirect(url_for(".members_page"))
        status = 400
    else:
        form.owner.data = target.is_owner
        form.permissions.data = [p for p in PERMISSIONS if target.allows(p)]
    return render_template("account/account_member.html", target=target, form=form), status


@bp.route("/account/members/<id:membership_id>/remove", methods=["POST"])
@login_required
def remove(membership_id):
    actor, account_id = _actor(), _account_id()
    target = members.get_member(actor, account_id, membership_id)
    _check_post()
    name = target.user.display_name
    try:
        members.remove_member(actor, account_id, membership_id)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("%(name)s is no longer a member.", name=name), "info")
    return redirect(url_for(".members_page"))


@bp.route("/account/invitations/<id:invitation_id>/cancel", methods=["POST"])
@login_required
def cancel_invitation(invitation_id):
    actor, account_id = _actor(), _account_id()
    members.require_manager(actor, account_id)
    _check_post()
    row = invitations.cancel(actor, account_id, invitation_id)
    flash(_("The invitation of %(email)s no longer works.", email=row.email), "info")
    return redirect(url_for(".members_page"))


@bp.route("/account/activity")
@login_required
def activity_page():
    actor, account_id = _actor(), _account_id()
    before = request.args.get("before")
    page = activity.account_activity(actor, account_id, before=before)
    return render_template("account/account_activity.html", account=members.get_account(actor, account_id),
                           page=page)


@bp.route("/account/invitations/<token>", methods=["GET", "POST"])
def invitation(token):
    """The link an invitation mails: what it is for, and a button to accept for the login with that address
    (others are asked to log in or register). A link that no longer works says it expired."""
    row = invitations.find_valid(token)
    if row is None:
        return render_template("account/invitation_expired.html"), 410
    form = PostForm()
    customer = current_user.is_authenticated and current_user.is_customer
    if customer and form.validate_on_submit():
        try:
            joined = invitations.accept(_actor(), token)
        except LinkExpired:
            return render_template("account/invitation_expired.html"), 410
        except invitations.WrongLogin as exc:
            flash(exc.message, "error")
        else:
            act_for(joined.account_id)  # they act for the account they just joined
            flash(_("You are now a member of %(account)s.", account=joined.account.name), "success")
            return redirect(url_for(".overview"))
    return render_template("account/invitation.html", invitation=row, form=form, customer=customer,
                           labels=members.PERMISSION_LABELS,
                           own_address=customer and current_user.email == row.email), 200
