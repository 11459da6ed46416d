"""Customer accounts in the staff console (issue 18): find an account by its name or a member's address, see its
members and what they may do, add an existing customer or remove a member (who loses the account at once), and
the account's activity. Every agent; customers get 404."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from helpdesk.accounts import activity, invitations, members
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.web.audit_links import linker
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor
from helpdesk.web.member_forms import AddMemberForm

bp = agents_only(Blueprint("desk_accounts", __name__, url_prefix="/agent/accounts"))




@bp.route("/")
def index():
    text = request.args.get("q", "")
    return render_template("desk/customer_accounts.html", accounts=members.search_accounts(_actor(), text),
                           q=" ".join(text.split())[:100])


def _account_page(account_id, form=None, status=200):
    actor = _actor()
    account = members.get_account(actor, account_id)
    page = activity.account_activity(actor, account_id, before=request.args.get("before"))
    if form is None:
        form = AddMemberForm(formdata=None)
        form.permissions.data = ["tickets"]
    return render_template("desk/customer_account.html", account=account,
                           members=members.list_members(actor, account_id),
                           invitations=invitations.pending(actor, account_id), form=form, button_form=PostForm(),
                           labels=members.PERMISSION_LABELS, granted=members.granted, page=page,
                           link=linker(actor)), status


@bp.route("/<id:account_id>")
def account(account_id):
    return _account_page(account_id)


@bp.route("/<id:account_id>/members", methods=["POST"])
def add_member(account_id):
    members.get_account(_actor(), account_id)
    form = AddMemberForm()
    if form.validate_on_submit():
        try:
            joined = members.add_member(_actor(), account_id, email=form.email.data,
                                        permissions=form.permissions.data, owner=form.owner.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("%(name)s is now a member.", name=joined.user.display_name), "success")
            return redirect(url_for(".account", account_id=account_id))
    return _account_page(account_id, form, 400)


@bp.route("/<id:account_id>/members/<id:membership_id>/remove", methods=["POST"])
def remove_member(account_id, membership_id):
    target = members.get_member(_actor(), account_id, membership_id)
    if not PostForm().validate_on_submit():
        abort(400)
    name = target.user.display_name
    try:
        members.remove_member(_actor(), account_id, membership_id)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("%(name)s is no longer a member; their sessions were ended.", name=name), "info")
    return redirect(url_for(".account", account_id=account_id))
