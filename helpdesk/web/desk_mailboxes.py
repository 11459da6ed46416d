"""Mailboxes in the staff console: how each IMAP mailbox signs in and, for OAuth 2 mailboxes, the state of
its grant, with a button that runs the provider's authorization-code flow (PKCE and state) and the callback
that stores the grant. Admins only. The flow's state and PKCE verifier wait in the admin's (signed) session
cookie, bound to their login session and used once; inbound/oauth.py does the rest."""
import hmac
import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.inbound import oauth
from helpdesk.web.forms import PostForm
from helpdesk.web.guards import admins_only, current_actor

bp = admins_only(Blueprint("desk_mailboxes", __name__, url_prefix=oauth.CONSOLE_PATH))

_PENDING = "mailbox_oauth"  # the session key of the flow under way
_FLOW_SECONDS = 600  # an admin has this long at the provider


_actor = current_actor


def redirect_uri():
    """The callback address to register with every provider."""
    return current_app.config["BASE_URL"].rstrip("/") + oauth.CALLBACK_PATH


def _form_action_origins(config):
    """Origins a form on the page may lead to: the Connect button's answer redirects to the provider,
    and browsers hold a form's redirects to the page's form-action."""
    origins = set()
    for name in config.get("MAIL_OAUTH_PROVIDERS") or {}:
        try:
            url = urlsplit(oauth.provider(config, name).authorize_url)
        except oauth.ProviderNotConfigured:
            continue
        origins.add(f"{url.scheme}://{url.netloc}")
    return sorted(origins)


@bp.route("")
def index():
    config = current_app.config
    response = current_app.make_response(render_template(
        "desk/admin/mailboxes.html", mailboxes=oauth.mailbox_statuses(_actor(), config), form=PostForm(),
        redirect_uri=redirect_uri()))
    # The site's policy (web/__init__.py) with the providers added to form-action.
    form_action = " ".join(["'self'", *_form_action_origins(config)])
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
        f"form-action {form_action}; base-uri 'none'")
    return response


@bp.route("/<name>/connect", methods=["POST"])
def connect(name):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        started = oauth.begin_authorization(_actor(), current_app.config, name, redirect_uri())
    except oauth.ProviderNotConfigured:
        abort(404)
    session[_PENDING] = {"mailbox": name, "state": started.state, "verifier": started.code_verifier,
                         "login": current_user.get_id(), "started": time.time()}
    return redirect(started.url, code=303)


def _pending_flow():
    """The flow this browser's admin started, if the callback belongs to it; it can be used only once."""
    pending = session.pop(_PENDING, None)
    state = request.args.get("state", "")
    if not isinstance(pending, dict) or not state or pending.get("login") != current_user.get_id() \
            or not hmac.compare_digest(str(pending.get("state", "")), state) \
            or time.time() - float(pending.get("started", 0)) > _FLOW_SECONDS:
        return None
    return pending


@bp.route(oauth.CALLBACK_PATH[len(oauth.CONSOLE_PATH):])
def callback():
    pending = _pending_flow()
    if pending is None:
        flash(_("This answer from the provider does not belong to a connection started here, has expired or "
                "was used already. Start again with the Connect button."), "error")
        return redirect(url_for("desk_mailboxes.index"))
    name = pending["mailbox"]
    if request.args.get("error") or not request.args.get("code"):
        flash(_("The provider did not give access to the mailbox %(mailbox)s: %(error)s", mailbox=name,
                error=request.args.get("error_description") or request.args.get("error") or "?"), "error")
        return redirect(url_for("desk_mailboxes.index"))
    try:
        grant = oauth.finish_authorization(_actor(), current_app.config, name, code=request.args["code"],
                                           code_verifier=pending["verifier"], redirect_uri=redirect_uri())
    except oauth.ProviderNotConfigured:
        abort(404)
    except oauth.AuthorizationFailed as exc:
        flash(_("The provider refused to connect the mailbox %(mailbox)s: %(error)s", mailbox=name,
                error=str(exc)), "error")
    except oauth.TokenEndpointUnavailable:
        flash(_("The provider could not be reached to connect the mailbox %(mailbox)s. Try again in a moment.",
                mailbox=name), "error")
    else:
        flash(_("The mailbox %(mailbox)s is connected as %(account)s.", mailbox=name,
                account=grant.account or _("an unnamed account")), "success")
    return redirect(url_for("desk_mailboxes.index"))
