"""The portal's credential vault: the access data of the account the login acts for (service, address, user
name, password, notes), add/change/remove forms, and a reveal button per secret. A reveal is a POST (CSRF) that
the service audits before it answers: with JavaScript the value is put in place from a JSON answer, without it the
answer is the vault page with that one value shown. No other page or answer carries a password or notes."""
from flask import Blueprint, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired

from helpdesk.accounts import memberships
from helpdesk.accounts.models import PERM_VAULT_EDIT, PERM_VAULT_VIEW
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.vault import service as vault
from helpdesk.vault.errors import CannotReveal, VaultUnavailable
from helpdesk.vault.models import SECRET_FIELDS
from helpdesk.web.account_context import current_account_id
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("account_vault", __name__, url_prefix="/account/vault")


class EntryForm(FlaskForm):
    service = StringField(_l("Service"), validators=[DataRequired(_l("Name the service."))])
    url = StringField(_l("Address (URL)"))
    username = StringField(_l("User name"))
    password = PasswordField(_l("Password"))
    notes = TextAreaField(_l("Notes"))


class ChangeEntryForm(EntryForm):
    password = PasswordField(_l("New password"))
    notes = TextAreaField(_l("New notes"))
    clear_password = BooleanField(_l("Remove the stored password"))
    clear_notes = BooleanField(_l("Remove the stored notes"))


def _account_id():
    """The account this request acts for, as the web door checked it (the header's account switcher)."""
    return current_account_id()



@bp.app_context_processor
def _navigation():
    def vault_shown():
        """Whether the account's pages link the vault: a customer with vault_view in the acting account."""
        if not (current_user.is_authenticated and current_user.is_customer):
            return False
        return memberships.has_permission(current_user, _account_id(), PERM_VAULT_VIEW)

    return {"vault_shown": vault_shown}


def _no_store(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _forget_secrets(form):
    # A form shown again (with errors) never carries a password or notes back into the page.
    for name in SECRET_FIELDS:
        form[name].data = ""
        form[name].raw_data = []


def _page(form=None, revealed=None, status=200):
    account_id = _account_id()
    entries = vault.list_entries(_actor(), account_id)
    found = memberships.membership(current_user, account_id)
    may_edit = found.allows(PERM_VAULT_EDIT)
    form = form if form is not None else (EntryForm() if may_edit else None)
    if form is not None:
        _forget_secrets(form)
    response = render_template("account/vault.html", entries=entries, account=found.account, form=form,
                               may_edit=may_edit, button_form=PostForm(), revealed=revealed or {},
                               activity=vault.activity(_actor(), account_id))
    return _no_store(make_response(response, status))


@bp.errorhandler(VaultUnavailable)
def _vault_unavailable(exc):
    page = render_template("errors/error.html", title=_("Credential vault"), message=exc.message)
    return _no_store(make_response(page, 503))


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    """The list; a POST adds an entry (vault_edit)."""
    if request.method == "GET":
        return _page()
    vault.check_access(_actor(), _account_id(), PERM_VAULT_EDIT)  # 404/403 before the form is looked at
    form = EntryForm()
    if form.validate_on_submit():
        try:
            entry = vault.add_entry(_actor(), _account_id(), service=form.service.data, url=form.url.data,
                                    username=form.username.data, password=form.password.data,
                                    notes=form.notes.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("“%(service)s” was added to the credential vault.", service=entry.service), "success")
            return redirect(url_for("account_vault.index"))
    return _page(form=form, status=400)


@bp.route("/<id:entry_id>/edit", methods=["GET", "POST"])
@login_required
def edit(entry_id):
    entry = vault.get_entry(_actor(), _account_id(), entry_id)  # 404 for another account's entry
    form = ChangeEntryForm(data={"service": entry.service, "url": entry.url, "username": entry.username or ""})
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                vault.change_entry(_actor(), _account_id(), entry_id, service=form.service.data,
                                   url=form.url.data, username=form.username.data, password=form.password.data,
                                   notes=form.notes.data, clear_password=form.clear_password.data,
                                   clear_notes=form.clear_notes.data)
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            else:
                flash(_("“%(service)s” was saved.", service=form.service.data.strip()), "success")
                return redirect(url_for("account_vault.index"))
        status = 400
    _forget_secrets(form)
    return _no_store(make_response(render_template("account/vault_edit.html", entry=entry, form=form,
                                           button_form=PostForm()), status))


@bp.route("/<id:entry_id>/remove", methods=["POST"])
@login_required
def remove(entry_id):
    entry = vault.get_entry(_actor(), _account_id(), entry_id)  # 404 for another account's, form or not
    if PostForm().validate_on_submit():
        vault.remove_entry(_actor(), _account_id(), entry_id)
        flash(_("“%(service)s” was removed from the credential vault.", service=entry.service), "info")
    return redirect(url_for("account_vault.index"))


def _wants_json():
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@bp.route("/<id:entry_id>/reveal/<any(password, notes):field>", methods=["POST"])
@login_required
def reveal(entry_id, field):
    """Show one secret: audited by the service before the value is in the answer."""
    vault.check_access(_actor(), _account_id())  # outsiders learn nothing from a missing token either
    if not PostForm().validate_on_submit():
        return redirect(url_for("account_vault.index"))
    try:
        value = vault.reveal(_actor(), _account_id(), entry_id, field)
    except CannotReveal as exc:
        if _wants_json():
            return _no_store(make_response(jsonify(error=str(exc.message)), 409))
        flash(exc.message, "error")
        return redirect(url_for("account_vault.index"))
    if _wants_json():
        return _no_store(make_response(jsonify(value=value), 200))
    return _page(revealed={(entry_id, field): value})
