"""Log in and log out, for customers and staff alike; and the language switcher."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from helpdesk.accounts import service as accounts
from helpdesk.accounts import sessions
from helpdesk.accounts.errors import LoginThrottled
from helpdesk.extensions import limiter
from helpdesk.i18n import LANGUAGES
from helpdesk.web.forms import LoginForm, PostForm

bp = Blueprint("auth", __name__)


def safe_next(target):
    """Only same-site paths: an open redirect after login would help phishing."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user):
    return url_for("desk.index") if user.is_agent else url_for("portal.index")


def begin_login_session(user, remember=False):
    """Log ``user`` in to this browser with a new server-side session. Whatever the browser's session held
    before is dropped and the CSRF token renewed, so nothing planted before the login (session fixation)
    or read from the login page carries over."""
    _drop_browser_session()
    login_user(sessions.start_session(user), remember=remember)


def _drop_browser_session():
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF keeps this request's token here besides the session


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["ACCOUNT_FORM_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.login.data, form.password.data, ip=request.remote_addr or "")
        except LoginThrottled as exc:
            # The same answer whether the login belongs to an account or not.
            form.password.errors.append(exc.message)
            return render_template("auth/login.html", form=form), 429
        if user is not None:
            begin_login_session(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data) or home_for(user))
        # The same answer whether the address exists or not.
        form.password.errors.append(_("Email or password is not correct."))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    form = PostForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            # Ends the session on the server: a saved copy of its cookies no longer logs anyone in.
            sessions.end_session(current_user._get_current_object())
        log_out_browser()
        flash(_("You have been logged out."), "info")
    return redirect(url_for("portal.index"))


def log_out_browser():
    """Forget the login in this browser: its session (and CSRF token) and its remember-me cookie."""
    _drop_browser_session()
    logout_user()  # after the clear: it marks the remember-me cookie for deletion in the session


@bp.route("/language/<code>", methods=["POST"])
def set_language(code):
    if code not in LANGUAGES:
        abort(404)
    PostForm().validate_on_submit() or abort(400)
    response = redirect(safe_next(request.form.get("next")) or url_for("portal.index"))
    response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    if current_user.is_authenticated:
        accounts.update_profile(current_user, current_user._get_current_object(), locale=code)
    return response
