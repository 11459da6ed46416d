"""The web door: blueprints, the session user, error pages and security headers."""
from flask import redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from helpdesk import errors
from helpdesk.accounts import sessions
from helpdesk.db import begin_write
from helpdesk.extensions import db, login_manager
from helpdesk.i18n import lazy_gettext as _l

TEMPLATES = "templates"  # every page and its layout
SERVES_HTTP = True


def init_app(app):
    from helpdesk.web import account, auth, desk, portal
    from helpdesk.web.request_values import register_converters

    register_converters(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(desk.bp)
    from helpdesk.web import tickets

    app.register_blueprint(tickets.bp)
    from helpdesk.web import desk_search

    app.register_blueprint(desk_search.bp)
    from helpdesk.web import desk_tickets

    app.register_blueprint(desk_tickets.bp)
    from helpdesk.web import kb, kb_editor

    app.register_blueprint(kb.bp)
    app.register_blueprint(kb_editor.bp)
    from helpdesk.web import desk_dashboard, desk_sla

    app.register_blueprint(desk_sla.bp)
    app.register_blueprint(desk_dashboard.bp)
    from helpdesk.web import desk_canned

    app.register_blueprint(desk_canned.bp)
    from helpdesk.web import desk_admin, requester_confirmation, satisfaction

    app.register_blueprint(desk_admin.bp)
    app.register_blueprint(satisfaction.bp)
    app.register_blueprint(requester_confirmation.bp)
    from helpdesk.web import guest_ticket

    app.register_blueprint(guest_ticket.bp)
    app.register_blueprint(guest_ticket.desk_bp)
    from helpdesk.web import desk_delivery

    app.register_blueprint(desk_delivery.bp)
    from helpdesk.web import desk_mailboxes

    app.register_blueprint(desk_mailboxes.bp)
    from helpdesk.web import billing, billing_plan, desk_billing, desk_catalogue, desk_services

    app.register_blueprint(billing.bp)
    app.register_blueprint(billing_plan.bp)
    app.register_blueprint(desk_billing.bp)
    app.register_blueprint(desk_catalogue.bp)
    app.register_blueprint(desk_services.bp)
    from helpdesk.web import payment_gateways

    app.register_blueprint(payment_gateways.bp)
    from helpdesk.web import desk_status_notices, status_page

    app.register_blueprint(status_page.bp)
    app.register_blueprint(desk_status_notices.bp)
    from helpdesk.web import account_verification, desk_verification

    app.register_blueprint(account_verification.bp)
    app.register_blueprint(desk_verification.bp)
    from helpdesk.web import desk_domains, domains

    app.register_blueprint(domains.bp)
    app.register_blueprint(desk_domains.bp)
    from helpdesk.web import auth_social

    app.register_blueprint(auth_social.bp)
    from helpdesk.web import account_vault

    app.register_blueprint(account_vault.bp)
    # Devices and after-sales service (issue 19).
    from helpdesk.web import (
        account_identity,
        desk_announcements,
        desk_buyers,
        desk_device_cases,
        desk_device_transfers,
        desk_devices,
        device_cases,
        device_installation,
        device_transfers,
        devices,
        videos,
    )

    for module in (devices, desk_devices, device_cases, desk_device_cases, device_installation, device_transfers,
                   desk_device_transfers, desk_announcements, videos, desk_buyers, account_identity):
        app.register_blueprint(module.bp)
    from helpdesk.web import desk_crm  # the CRM sync and training videos in the console (issue 19, part E)

    app.register_blueprint(desk_crm.bp)
    from helpdesk.web import account_api_tokens  # personal API tokens in the profile (issue 20)

    app.register_blueprint(account_api_tokens.bp)

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(sessions.load_session_user)

    @app.before_request
    def _posts_wait_for_their_turn_to_write():
        # SQLite has one writer. A form post will write, so it takes the write lock before its first
        # read: otherwise another request committing in between leaves it on a stale snapshot, and
        # SQLite refuses its write ("database is locked"). A no-op on PostgreSQL.
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            begin_write(db.session)

    @app.teardown_request
    def _end_the_transaction(exc):
        # A request's transaction ends with the request, not only when its app context goes: a post
        # that changed nothing must not keep SQLite's write lock while anything else runs in the context.
        db.session.remove()

    @app.before_request
    def _remember_user_for_locale():
        # i18n reads the user from the request so it need not know about Flask-Login.
        request.helpdesk_user = current_user if current_user.is_authenticated else None

    # Customer accounts (issue 18), registered after the hooks above: the acting account is checked (a read)
    # once the write lock is taken.
    from helpdesk.web import account_context, account_members, desk_accounts

    app.register_blueprint(account_context.bp)
    app.register_blueprint(account_members.bp)
    app.register_blueprint(desk_accounts.bp)
    # Webhooks (issue 20): the desk-wide endpoints in the console, the acting account's in the portal.
    from helpdesk.web import account_webhooks, desk_webhooks

    app.register_blueprint(desk_webhooks.bp)
    app.register_blueprint(account_webhooks.bp)

    @app.route("/favicon.ico")
    def favicon():
        # Asked for by browsers and feed readers whatever a page links to; the icon itself is an SVG.
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        return response

    def _error_page(status, title, message):
        return render_template("errors/error.html", title=title, message=message), status

    @app.errorhandler(errors.NotFound)
    @app.errorhandler(404)
    def _not_found(exc):
        return _error_page(404, _l("Not found"), _l("The page you asked for does not exist or is not yours to see."))

    @app.errorhandler(errors.NotAllowed)
    @app.errorhandler(403)
    def _not_allowed(exc):
        return _error_page(403, _l("Not allowed"), _l("You are not allowed to do that."))

    @app.errorhandler(errors.Conflict)
    def _conflict(exc):
        return _error_page(409, _l("Conflict"), exc.message)

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _error_page(400, _l("Form expired"),
                           _l("The form was too old or came from elsewhere. Go back, reload the page and try again."))

    @app.errorhandler(413)
    def _too_large(exc):
        return _error_page(413, _l("Too large"), _l("The upload is larger than the allowed size."))

    @app.errorhandler(429)
    def _too_many(exc):
        return _error_page(429, _l("Too many attempts"), _l("Too many attempts. Please wait a minute and try again."))
