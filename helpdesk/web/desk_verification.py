"""Identity verification in the staff console (issue 18): the queue of documents awaiting review, an account's
verification with its documents (downloaded through an audited view) and its verification tickets, approve or reject
with a reason, asking an account to verify, and the admins' page granting the verification permission. Only admins
and agents holding that permission reach any of it; everyone else gets 404. The rules live in
helpdesk.accounts.verification (the ticket that follows each upload in helpdesk.tickets.identity_queue)."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.accounts import verification
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import identity_queue
from helpdesk.web.downloads import content_disposition
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("desk_verification", __name__, url_prefix="/agent")


@bp.before_request
@login_required
def _verification_staff_only():
    if not verification.is_verification_staff(current_user):
        abort(404)


@bp.app_context_processor
def _navigation():
    def may_verify_identities():
        return bool(current_user.is_authenticated and verification.is_verification_staff(current_user))

    return {"may_verify_identities": may_verify_identities,
            "identity_verification_on": lambda: verification.policy() != verification.POLICY_OFF,
            "identity_status_label": lambda code: verification.STATUS_LABELS.get(code, code)}



class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the customer reads it)"), validators=[Length(max=verification.REASON_MAX)])


class AskForm(FlaskForm):
    email = StringField(_l("Customer's email address"), validators=[Length(max=254)])


# --------------------------------------------------------------------------- the queue and an account's page

@bp.route("/verifications/")
def queue():
    return render_template("desk/verification/queue.html", documents=verification.pending_reviews(_actor()),
                           waiting=verification.awaiting_upload(_actor()), ask_form=AskForm(),
                           labels=verification.STATUS_LABELS)


@bp.route("/verifications/ask", methods=["POST"])
def ask_by_email():
    form = AskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        account = verification.find_account(_actor(), form.email.data)
    except NotFound:
        flash(_("No customer with this address owns an individual account."), "error")
        return redirect(url_for(".queue"))
    return _ask(account.id)


@bp.route("/verifications/accounts/<id:account_id>")
def account(account_id):
    return _account_page(account_id)


def _account_page(account_id, reject_form=None, status=200):
    review = identity_queue.review(_actor(), account_id)
    return render_template("desk/verification/account.html", account=review.account, documents=review.documents,
                           tickets=review.tickets, decided_by=review.decided_by, labels=verification.STATUS_LABELS,
                           reject_form=reject_form or RejectForm(), form=PostForm()), status


@bp.route("/verifications/accounts/<id:account_id>/ask", methods=["POST"])
def ask(account_id):
    if not PostForm().validate_on_submit():
        abort(400)
    return _ask(account_id)


def _ask(account_id):
    try:
        verification.request_verification(_actor(), account_id)
    except (ValidationFailed, Conflict) as exc:
        for message in getattr(exc, "errors", {"": exc.message}).values():
            flash(message, "error")
    else:
        flash(_("The account was asked to verify its identity."), "success")
    return redirect(url_for(".account", account_id=account_id))


@bp.route("/verifications/accounts/<id:account_id>/approve", methods=["POST"])
def approve(account_id):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        verification.approve(_actor(), account_id)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for(".account", account_id=account_id))
    flash(_("The identity is verified; the customer was told by email."), "success")
    return redirect(url_for(".queue"))


@bp.route("/verifications/accounts/<id:account_id>/reject", methods=["POST"])
def reject(account_id):
    form = RejectForm()
    if not form.validate_on_submit():
        return _account_page(account_id, form, 400)
    try:
        verification.reject(_actor(), account_id, form.reason.data)
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _account_page(account_id, form, 400)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for(".account", account_id=account_id))
    flash(_("The document was rejected; the customer was told by email."), "success")
    return redirect(url_for(".queue"))


@bp.route("/verifications/documents/<id:document_id>")
def document(document_id):
    """The audited download: an opaque attachment, never cached, never indexed, never rendered in our origin."""
    row, data = verification.open_document(_actor(), document_id)
    return Response(data, mimetype="application/octet-stream", headers={
        "Content-Disposition": content_disposition(row.original_name), "Cache-Control": "private, no-store",
        "X-Robots-Tag": "noindex, nofollow", "Content-Security-Policy": "sandbox; default-src 'none'"})


# --------------------------------------------------------------------------- the permission (admins)

@bp.route("/admin/verification-staff", methods=["GET", "POST"])
def staff():
    if not current_user.is_admin:
        abort(404)
    form = PostForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        granted = request.form.get("granted") == "1"
        try:
            user = verification.grant_verification(_actor(), request.form.get("user_id"), granted)
        except NotFound:
            abort(400)
        flash(_("%(name)s may now verify identities.", name=user.display_name) if granted else
              _("%(name)s may no longer verify identities.", name=user.display_name), "success")
        return redirect(url_for(".staff"))
    return render_template("desk/verification/staff.html", agents=verification.agents_and_permission(_actor()),
                           form=form)
