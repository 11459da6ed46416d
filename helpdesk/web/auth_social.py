"""Social login's pages (issue 18): leaving for a provider, its callback, the privacy consent of a new person, the
mailed link that completes a linking, and the profile's linked logins.

Leaving for a provider is a POST with the CSRF token, not a link: it writes a trip row, and a page elsewhere must not
be able to start trips in someone's browser (a GET would let any page or image do it)."""
import time

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional

from helpdesk.accounts import social
from helpdesk.accounts.errors import LinkExpired
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.auth import begin_login_session, home_for
from helpdesk.web.forms import PostForm, apply_errors

bp = Blueprint("social", __name__)

TRIP_KEY = "social_trip"  # {"provider", "state"}: the trip this browser is on, spent by its callback
REGISTRATION_KEY = "social_registration"  # verified claims waiting for the privacy consent, with "until"


def form_rate_limit():
    return current_app.config["ACCOUNT_FORM_RATE_LIMIT"]


class SocialRegisterForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter your name.")), Length(max=200)])
    company = StringField(_l("Company (optional)"), validators=[Optional(), Length(max=200)])
    consent = BooleanField(_l("I agree to the privacy policy."),
                           validators=[DataRequired(_l("Please agree to the privacy policy to register."))])


class ConfirmLinkForm(FlaskForm):
    consent = BooleanField(_l("I agree to the privacy policy."))


@bp.app_context_processor
def _buttons():
    # The login and registration pages show a button per configured provider.
    return {"social_providers": social.offered_providers}


def _callback_url(name):
    return f"{current_app.config['BASE_URL'].rstrip('/')}/login/{name}/callback"


def _failed(exc, status=400):
    return render_template("social/failed.html", message=exc.message), status


@bp.route("/login/<name>", methods=["POST"])
@limiter.limit(form_rate_limit)
def start(name):
    provider = social.get_provider(name)  # 404 for a provider that is not configured
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    if not PostForm().validate_on_submit():
        return redirect(url_for("auth.login"))
    try:
        url, state = social.start_login(provider.name, _callback_url(provider.name))
    except social.SocialLoginFailed as exc:
        return _failed(exc, 502)
    session[TRIP_KEY] = {"provider": provider.name, "state": state}
    # A page that refreshes to the provider rather than a redirect: browsers hold a form's redirects to the login
    # page's form-action 'self', and the provider's origin comes from its discovery document.
    response = make_response(render_template("social/redirect.html", target=url, provider=provider.label))
    response.headers["Refresh"] = f"0; url={url}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login/<name>/callback")
@limiter.limit(form_rate_limit)
def callback(name):
    provider = social.get_provider(name)
    trip = session.pop(TRIP_KEY, None) or {}  # one callback per trip, whatever it comes to
    browser_state = trip.get("state", "") if trip.get("provider") == provider.name else ""
    try:
        outcome = social.finish_login(provider.name, state=request.args.get("state", ""), browser_state=browser_state,
                                      code=request.args.get("code", ""), error=request.args.get("error", ""),
                                      redirect_uri=_callback_url(provider.name))
    except social.StaffRefused as exc:
        return _failed(exc, 403)
    except social.SocialLoginFailed as exc:
        return _failed(exc)
    return _answer(provider, outcome)


def _answer(provider, outcome):
    if outcome.kind == "logged-in":
        begin_login_session(outcome.user)
        flash(_("You are logged in with %(provider)s.", provider=provider.label), "success")
        return redirect(home_for(outcome.user))
    if outcome.kind == "register":
        claims = outcome.claims
        session[REGISTRATION_KEY] = {
            "provider": provider.name, "subject": claims.subject, "email": claims.email, "name": claims.name,
            "email_verified": claims.email_verified,
            "until": time.time() + 60 * int(current_app.config["OPENID_LOGIN_MINUTES"])}
        return redirect(url_for("social.register", name=provider.name))
    return render_template("social/check_mail.html", provider=provider.label)


def _waiting_registration(name):
    """The verified claims this browser brought back from ``name`` for a registration, if still fresh."""
    kept = session.get(REGISTRATION_KEY)
    if not isinstance(kept, dict) or kept.get("provider") != name or kept.get("until", 0) < time.time():
        return None
    return social.VerifiedClaims(subject=kept["subject"], email=kept["email"], name=kept["name"],
                                 email_verified=kept["email_verified"] is True)


@bp.route("/login/<name>/register", methods=["GET", "POST"])
@limiter.limit(form_rate_limit, methods=["POST"])
def register(name):
    provider = social.get_provider(name)
    claims = _waiting_registration(provider.name)
    if claims is None:
        session.pop(REGISTRATION_KEY, None)
        return _failed(social.SocialLoginFailed())
    form = SocialRegisterForm(data={"full_name": claims.name})
    if form.validate_on_submit():
        try:
            outcome = social.register(provider.name, claims, full_name=form.full_name.data,
                                      company=form.company.data, consent=form.consent.data,
                                      policy_version=current_app.config["PRIVACY_POLICY_VERSION"],
                                      locale=str(get_locale()))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        except social.StaffRefused as exc:
            return _failed(exc, 403)
        except social.SocialLoginFailed as exc:
            return _failed(exc)
        else:
            session.pop(REGISTRATION_KEY, None)
            return _answer(provider, outcome)
    return render_template("social/register.html", form=form, provider=provider.label, email=claims.email)


@bp.route("/login/social/confirm/<identity_id>/<token>", methods=["GET", "POST"])
@limiter.limit(form_rate_limit, methods=["POST"])
def confirm(identity_id, token):
    """The link mailed to the address a provider gave: a page with a button (mail scanners open links), and the
    privacy consent for someone registering this way."""
    found = social.confirmation_for(identity_id, token)
    if found is None:
        return render_template("account/link_expired.html"), 410
    provider, registering = found
    form = ConfirmLinkForm()
    if form.validate_on_submit():
        try:
            user = social.confirm_identity(identity_id, token, consent=form.consent.data,
                                           policy_version=current_app.config["PRIVACY_POLICY_VERSION"],
                                           locale=str(get_locale()))
        except LinkExpired:
            return render_template("account/link_expired.html"), 410
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            begin_login_session(user)
            flash(_("Your %(provider)s login is linked. You are logged in.", provider=provider), "success")
            return redirect(home_for(user))
    return render_template("social/confirm.html", form=form, provider=provider, registering=registering)


@bp.route("/profile/linked-logins")
@login_required
def linked_logins():
    user = current_user._get_current_object()
    return render_template("social/linked_logins.html", identities=social.identities_of(user, user),
                           label=social.provider_label, button_form=PostForm(),
                           has_password=social.has_password(user))


@bp.route("/profile/linked-logins/<id:identity_id>/unlink", methods=["POST"])
@login_required
def unlink(identity_id):
    user = current_user._get_current_object()
    social.get_identity(user, user, identity_id)  # 404 for anyone else's, form or not
    if PostForm().validate_on_submit():
        try:
            identity = social.unlink_identity(user, user, identity_id)
        except social.LastWayToLogIn as exc:
            flash(exc.message, "error")
        else:
            flash(_("Your %(provider)s login is unlinked.", provider=social.provider_label(identity.provider)), "info")
    return redirect(url_for("social.linked_logins"))
