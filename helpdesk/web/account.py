"""Self-service accounts: register, activate, forgot and reset password, the profile (with the password and
"log out everywhere"), the privacy page."""
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.accounts import service as accounts
from helpdesk.accounts import sessions
from helpdesk.accounts.errors import LinkExpired
from helpdesk.accounts.models import PURPOSE_ACTIVATION, PURPOSE_RESET
from helpdesk.actors import GUEST_FORM
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.web.account_forms import (
    ChangePasswordForm,
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


@bp.route("/privacy")
def privacy():
    return render_template("account/privacy.html", version=current_app.config["PRIVACY_POLICY_VERSION"])
