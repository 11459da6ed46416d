"""The portal's identity verification page (issue 18): an account's verification status ("verified", "rejected:
<reason>", "awaiting review") and, while one is asked for, the upload of an ID document. The account is one the
logged-in customer belongs to (owner, or member with the billing permission); the domain checks it on every call."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from helpdesk.accounts import verification
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.account_context import current_account_id
from helpdesk.web.forms import apply_errors
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("account_verification", __name__)


class DocumentForm(FlaskForm):
    document = FileField(_l("ID document (a photo or scan as JPEG or PNG, or a PDF)"))



def _customers_only():
    if not current_user.is_customer:
        abort(404)


def _acting_account_id():
    return current_account_id()


@bp.route("/account/identity")
@login_required
def own_identity():
    """The acting account's page; a customer without an account yet sees theirs as it will be."""
    _customers_only()
    account_id = _acting_account_id()
    if account_id is not None:
        return redirect(url_for(".identity", account_id=account_id))
    return _page(None)


@bp.route("/accounts/<id:account_id>/identity")
@login_required
def identity(account_id):
    _customers_only()
    return _page(account_id)


def _page(account_id, form=None, status=200):
    standing = verification.standing(_actor(), account_id)
    return render_template("account/identity.html", standing=standing, form=form or DocumentForm(),
                           max_mb=_max_mb()), status


def _max_mb():
    return format_decimal(round(current_app.config["IDENTITY_DOCUMENT_MAX_BYTES"] / (1024 * 1024), 1))


@bp.route("/account/identity", methods=["POST"], endpoint="upload_own")
@bp.route("/accounts/<id:account_id>/identity", methods=["POST"])
@login_required
@limiter.limit("10 per minute")
def upload(account_id=None):
    _customers_only()
    form = DocumentForm()
    upload_file = form.document.data if form.validate_on_submit() else None
    if upload_file is None or not getattr(upload_file, "filename", None):
        verification.standing(_actor(), account_id)  # NotFound before anything is said about a stranger's account
        form.document.errors = [*form.document.errors, _("Choose the file of your ID document.")]
        return _page(account_id, form, 400)
    try:
        document = verification.submit_document(_actor(), account_id, filename=upload_file.filename,
                                                data=upload_file.read())
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _page(account_id, form, 400)
    except Conflict as exc:
        flash(exc.message, "error")
        return _page(account_id, form, 409)
    flash(_("Thank you: we received your ID document and will review it."), "success")
    return redirect(url_for(".identity", account_id=document.account_id))
