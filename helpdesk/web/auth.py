"""Log in and log out, for customers and staff alike; and the language switcher."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from helpdesk.accounts import service as accounts
from helpdesk.extensions import limiter
from helpdesk.i18n import LANGUAGES
from helpdesk.web.forms import LoginForm, PostForm

bp = Blueprint("auth", __name__)


def _safe_next(target):
    """Only same-site paths: an open redirect after login would help phishing."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user):
    return url_for("desk.index") if user.is_agent else url_for("portal.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["ACCOUNT_FORM_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = accounts.authenticate(form.login.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(form.next.data) or home_for(user))
        # The same answer whether the address exists or not.
        form.password.errors.append(_("Email or password is not correct."))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    form = PostForm()
    if form.validate_on_submit():
        logout_user()
        flash(_("You have been logged out."), "info")
    return redirect(url_for("portal.index"))


@bp.route("/language/<code>", methods=["POST"])
def set_language(code):
    if code not in LANGUAGES:
        abort(404)
    PostForm().validate_on_submit() or abort(400)
    response = redirect(_safe_next(request.form.get("next")) or url_for("portal.index"))
    response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    if current_user.is_authenticated:
        accounts.update_profile(current_user, current_user._get_current_object(), locale=code)
    return response
