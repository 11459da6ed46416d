"""Self-service accounts: register, activate, forgot and reset password, the profile (with the password,
"log out everywhere" and the notification addresses), the privacy page."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.accounts import contacts, sessions
from helpdesk.accounts import service as accounts
from helpdesk.accounts.errors import LinkExpired
from helpdesk.accounts.models import PURPOSE_ACTIVATION, PURPOSE_RESET
from helpdesk.actors import GUEST_FORM
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.web.account_forms import (
    ChangePasswordForm,
    ContactAddressForm,
    ForgotPasswordForm,
    ProfileForm,
    RegisterForm,
    SetPasswordForm,
)
from helpdesk.web.auth import begin_login_session, home_for, log_out_browser
from helpdesk.web.forms import PostForm, apply_errors

bp = Blueprint("account", __name__)


def form_rate_limit():
    return current_app.config["ACCOUNT_FORM_RATE_LIMIT"]



def _link_expired():
    return render_template("account/link_expired.html"), 410


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(form_rate_limit, methods=["POST"])
def register():
    if not current_app.config["SELF_REGISTRATION"]:
        abort(404)  # only staff create customer accounts here (issue 19)
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.register_customer(
                GUEST_FORM, email=form.email.data, full_name=form.full_name.data, company=form.company.data,
                phone=form.phone.data, consent=form.consent.data,
                policy_version=current_app.config["PRIVACY_POLICY_VERSION"], locale=str(get_locale()),
            )
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            # The same page whether the address was new or already had an account.
            return render_template("account/register_sent.html")
    return render_template("account/register.html", form=form)


def _set_password_page(purpose, token, set_password, done_message, template):
    """A page reached by an emailed link where the user chooses a password and is then logged in."""
    if not accounts.link_is_valid(purpose, token):
        return _link_expired()
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = set_password(token, form.password.data)
        except LinkExpired:
            return _link_expired()
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            begin_login_session(user)
            flash(done_message, "success")
            return redirect(home_for(user))
    return render_template(template, form=form)


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activate(token):
    return _set_password_page(PURPOSE_ACTIVATION, token, accounts.activate, _("Your account is active. Welcome!"),
                              "account/activate.html")


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(form_rate_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        return render_template("account/forgot_sent.html")
    return render_template("account/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    return _set_password_page(PURPOSE_RESET, token, accounts.reset_password, _("Password reset successful."),
                              "account/reset_password.html")


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    # Submitted values win over the stored ones, so a rejected form keeps what the user typed.
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        try:
            accounts.update_profile(user, user, full_name=form.full_name.data, phone=form.phone.data,
                                    locale=form.locale.data, timezone=form.timezone.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("account.profile"))
    return _profile_page(user, form=form)


def _profile_page(user, form=None, password_form=None, status=200):
    return render_template("account/profile.html", user=user, form=form or ProfileForm(obj=user),
                           password_form=password_form or ChangePasswordForm(formdata=None),
                           sessions_form=PostForm(), session_count=sessions.count_sessions(user)), status


@bp.route("/profile/password", methods=["POST"])
@login_required
@limiter.limit(form_rate_limit)
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(user, user, form.current_password.data, form.password.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Your password has been changed. Every other browser logged in to your account was logged out."),
                  "success")
            return redirect(url_for("account.profile"))
    return _profile_page(user, password_form=form, status=400)


@bp.route("/profile/log-out-everywhere", methods=["POST"])
@login_required
def log_out_everywhere():
    if PostForm().validate_on_submit():
        sessions.end_all_sessions(current_user, current_user._get_current_object())
        log_out_browser()
        flash(_("You have been logged out everywhere."), "info")
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.profile"))


@bp.route("/profile/notification-addresses", methods=["GET", "POST"])
@login_required
@limiter.limit(form_rate_limit, methods=["POST"])
def notification_addresses():
    user = current_user._get_current_object()
    form = ContactAddressForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                address = contacts.add_address(user, user, purpose=form.purpose.data, email=form.email.data,
                                               name=form.name.data)
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            else:
                flash(_("%(email)s is confirmed.", email=address.email) if address.confirmed_at else
                      _("We sent a confirmation link to %(email)s. It receives mail once the link is opened.",
                        email=address.email), "success")
                return redirect(url_for("account.notification_addresses"))
        status = 400
    return render_template("account/notification_addresses.html", form=form, button_form=PostForm(),
                           addresses=contacts.list_addresses(user, user), labels=contacts.PURPOSE_LABELS,
                           purposes=contacts.PURPOSES, user=user), status


@bp.route("/profile/notification-addresses/<id:address_id>/remove", methods=["POST"])
@login_required
def remove_notification_address(address_id):
    user = current_user._get_current_object()
    address = contacts.get_address(user, user, address_id)  # 404 for anyone else's, form or not
    if PostForm().validate_on_submit():
        email = address.email
        contacts.remove_address(user, user, address_id)
        flash(_("%(email)s no longer receives this mail.", email=email), "info")
    return redirect(url_for("account.notification_addresses"))


@bp.route("/profile/notification-addresses/<id:address_id>/resend", methods=["POST"])
@login_required
@limiter.limit(form_rate_limit)
def resend_notification_address(address_id):
    user = current_user._get_current_object()
    contacts.get_address(user, user, address_id)
    if PostForm().validate_on_submit():
        try:
            address = contacts.resend_confirmation(user, user, address_id)
        except ValidationFailed as exc:
            for message in exc.errors.values():
                flash(message, "error")
        else:
            flash(_("We sent a new confirmation link to %(email)s.", email=address.email), "success")
    return redirect(url_for("account.notification_addresses"))


@bp.route("/profile/notification-addresses/<id:address_id>/confirm/<token>", methods=["GET", "POST"])
def confirm_notification_address(address_id, token):
    """The link mailed to a notification address: a page with a button (mail scanners open links), no login
    needed (whoever has the link reads that mailbox)."""
    expired = render_template("account/notification_address_link_expired.html"), 410
    if not contacts.confirmation_is_valid(address_id, token):
        return expired
    form = PostForm()
    if form.validate_on_submit():
        try:
            address = contacts.confirm_address(address_id, token)
        except LinkExpired:
            return expired
        return render_template("account/notification_address_confirmed.html", address=address,
                               purpose=contacts.PURPOSE_LABELS[address.purpose])
    return render_template("account/confirm_notification_address.html", form=form)


@bp.route("/privacy")
def privacy():
    return render_template("account/privacy.html", version=current_app.config["PRIVACY_POLICY_VERSION"])
