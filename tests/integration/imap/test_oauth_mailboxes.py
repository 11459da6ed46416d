"""Mailboxes behind OAuth 2, against a real Dovecot whose oauth2 passdb asks a fake provider on loopback
whether a token is live: an admin connects a mailbox in the console (authorization code with PKCE and
state), the gateway reads it with access tokens it refreshes before they expire (a session ends before
its token, as Microsoft closes it then) and once when the server refuses one, and a revoked grant shows
in the console, mails the admins once and leaves the gateway waiting calmly. No token or client secret
ever reaches a log."""
import io
import logging
import threading
import time
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.extensions import db, limiter
from helpdesk.mailgateway.models import GRANT_ERROR, GRANT_OK, MailboxGrant
from helpdesk.mailgateway.sources import ImapSource
from tests.conftest import OneContextPerRequestClient, csrf_token, log_in
from tests.integration.imap.test_imap_gateway import (
    _assert_each_mail_once,
    _gateway_thread,
    _mail,
    _query,
    _tickets,
    _wait_until,
)

CONSOLE = "/agent/admin/mailboxes"
ADMIN_EMAIL = "admin@example.test"


class _OncePerRecord(logging.StreamHandler):
    """On the root logger and on "helpdesk" (which may not propagate): each record written once."""

    def __init__(self, stream):
        super().__init__(stream)
        self.seen = set()

    def emit(self, record):
        if id(record) not in self.seen:
            self.seen.add(id(record))
            super().emit(record)


@pytest.fixture
def captured_logs(oauth_provider):
    """Every log record of every logger, DEBUG and up, as text; at the end no secret may be in it."""
    stream = io.StringIO()
    handler = _OncePerRecord(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    loggers = [logging.getLogger(), logging.getLogger("helpdesk")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield stream
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)
    text = stream.getvalue()
    secrets = [oauth_provider.client_secret, *oauth_provider.issued_tokens()]
    assert [secret for secret in secrets if secret in text] == []


def _oauth_app(app_factory, mailbox, provider, **settings):
    spec = mailbox.spec(auth="oauth2", oauth_provider="fake")
    del spec["password"], spec["user"]  # the user name comes from the grant, the password is not used
    config = {"MAIL_MAILBOXES": [spec], "MAIL_OAUTH_PROVIDERS": {"fake": provider.settings()},
              "MAIL_POLL_INTERVAL": 1, "MAIL_IDLE_TIMEOUT": 5, "MAIL_RECONNECT_MIN": 0.2,
              "MAIL_RECONNECT_MAX": 1, "MAIL_OAUTH_REFRESH_MARGIN": 1, "MAIL_OAUTH_TIMEOUT": 5, **settings}
    app = app_factory(**config)
    with app.app_context():
        accounts.create_user(SYSTEM, email=ADMIN_EMAIL, full_name="Ada Admin", role="admin",
                             password="correct horse battery")
        accounts.create_user(SYSTEM, email="agent@example.test", full_name="Alex Agent", role="agent",
                             password="correct horse battery")
        db.session.remove()
    return app


def _browser(app, login=ADMIN_EMAIL):
    limiter.reset()
    app.test_client_class = OneContextPerRequestClient
    client = app.test_client()
    log_in(client, login)
    return client


def _start_connect(client, name="support"):
    """Press Connect on the console page; returns the provider's authorization URL it redirects to."""
    page = client.get(CONSOLE).text
    response = client.post(f"{CONSOLE}/{name}/connect", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303, response.text
    return response.headers["Location"]


def _at_provider(authorize_url):
    """The admin's browser at the provider, which lets them in and sends them back; returns the callback path."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == "http://helpdesk.example.test"
    return f"{back.path}?{back.query}"


def _connect(client, provider, account):
    provider.approve_as = account
    return client.get(_at_provider(_start_connect(client)), follow_redirects=True)


def _grant(app):
    return _query(app, lambda: db.session.get(MailboxGrant, "support"))


@contextmanager
def _expiring_sessions(server, provider, user):
    """Behave like Microsoft: when the token a session signed in with expires, the session is closed.
    Yields the list of sessions so closed (a gateway that renews in time leaves it empty)."""
    kicked, stop = [], threading.Event()

    def watch():
        while not stop.wait(0.05):
            with provider.lock:
                live = [token for token, active, _at in provider.logins if active]
                latest = live[-1] if live else None
                expires_at = provider.access_tokens[latest]["expires_at"] if latest else None
            # A session that closed by itself meanwhile (the gateway renewed and signed in again) is not kicked.
            if latest and time.time() >= expires_at and latest not in kicked and server.kick(user):
                kicked.append(latest)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield kicked
    finally:
        stop.set()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- connecting in the console

def test_admin_connects_a_mailbox_in_the_console_and_its_mail_becomes_tickets(
        app_factory, oauth_mailbox, oauth_provider, smtp, captured_logs):
    app = _oauth_app(app_factory, oauth_mailbox, oauth_provider)
    client = _browser(app)
    page = client.get(CONSOLE)
    assert "Not connected" in page.text
    # The Connect button's answer leads to the provider: the page's policy lets the form go there.
    assert f"form-action 'self' {oauth_provider.url};" in page.headers["Content-Security-Policy"]

    authorize = urlsplit(_start_connect(client))
    query = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    assert query["code_challenge_method"] == "S256" and query["state"] and query["code_challenge"]
    assert query["redirect_uri"] == "http://helpdesk.example.test/agent/admin/mailboxes/oauth/callback"
    assert oauth_provider.client_secret not in authorize.query

    page = _connect(client, oauth_provider, oauth_mailbox.user)
    assert f"is connected as {oauth_mailbox.user}" in page.text
    assert f"Connected as {oauth_mailbox.user}" in page.text
    grant = _grant(app)
    assert (grant.state, grant.account, grant.provider) == (GRANT_OK, oauth_mailbox.user, "fake")
    stored = f"{grant.refresh_token} {grant.access_token}"
    assert oauth_provider.issued_tokens() and not any(token in stored for token in oauth_provider.issued_tokens())

    oauth_mailbox.append(_mail(1, sender="carla@example.test", subject="Printer on fire"))
    with _gateway_thread(app):
        assert _wait_until(lambda: _tickets(app) == 1)
    assert [active for _token, active, _at in oauth_provider.logins] == [True]


def test_the_flow_is_bound_to_the_admins_session_used_once_and_admins_only(
        app_factory, oauth_mailbox, oauth_provider, smtp, captured_logs):
    app = _oauth_app(app_factory, oauth_mailbox, oauth_provider)
    oauth_provider.approve_as = oauth_mailbox.user
    admin = _browser(app)
    agent = _browser(app, "agent@example.test")
    assert agent.get(CONSOLE).status_code == 403
    assert agent.post(f"{CONSOLE}/support/connect", data={"csrf_token": csrf_token(admin.get(CONSOLE).text)}
                      ).status_code in (400, 403)
    assert admin.post(f"{CONSOLE}/support/connect", data={}).status_code == 400  # no CSRF token

    callback = _at_provider(_start_connect(admin))
    forged = callback.replace("state=", "state=x")
    # Another admin's browser, a changed state, and the right answer a second time are all refused.
    other_admin = _browser(app)
    for client, path in ((other_admin, callback), (admin, forged), (admin, callback)):
        page = client.get(path, follow_redirects=True).text
        assert "does not belong to a connection started here" in page
        assert _grant(app) is None
    assert oauth_provider.requests_of("authorization_code") == []

    # A declined consent comes back as an error, and nothing is stored.
    oauth_provider.approve_as = None
    page = admin.get(_at_provider(_start_connect(admin)), follow_redirects=True).text
    assert "did not give access to the mailbox support: The user declined." in page
    assert _grant(app) is None


# --------------------------------------------------------------------------- the gateway's tokens

def test_token_expiring_mid_idle_is_renewed_in_time_and_each_mail_arrives_once(
        app_factory, oauth_mailbox, oauth_provider, oauth_dovecot, smtp, captured_logs):
    # IDLE would last 30 s; tokens live 3 s. Only ending the session before its token keeps it alive.
    app = _oauth_app(app_factory, oauth_mailbox, oauth_provider, MAIL_IDLE_TIMEOUT=30, MAIL_POLL_INTERVAL=30)
    oauth_provider.expires_in = 3
    _connect(_browser(app), oauth_provider, oauth_mailbox.user)
    oauth_mailbox.append_many([_mail(n) for n in range(3)])
    with _expiring_sessions(oauth_dovecot, oauth_provider, oauth_mailbox.user) as kicked, _gateway_thread(app):
        assert _wait_until(lambda: _tickets(app) == 3)
        for n in range(3, 13):  # across several token lifetimes, while the gateway idles
            time.sleep(0.6)
            oauth_mailbox.append(_mail(n))
        oauth_mailbox.append_many([_mail(n) for n in range(13, 15)])
        assert _wait_until(lambda: _tickets(app) == 15, timeout=10)
    assert len(kicked) == 0, "sessions outlived their tokens and were closed by the server"
    assert len(oauth_provider.requests_of("refresh_token")) >= 2  # a token every 2 s, for 6 s and more
    assert set(oauth_provider.requests_of("refresh_token")) == {"ok"}
    # Every sign-in used a live token: each session ended before its token did.
    assert all(active for _token, active, _at in oauth_provider.logins)
    assert "failed; reconnecting" not in captured_logs.getvalue()
    _assert_each_mail_once(app, 15)
    assert len(smtp.wait_for(15)) == 15


def test_a_refused_access_token_is_refreshed_once_and_the_sign_in_retried(
        app_factory, oauth_mailbox, oauth_provider, smtp, captured_logs):
    app = _oauth_app(app_factory, oauth_mailbox, oauth_provider)
    _connect(_browser(app), oauth_provider, oauth_mailbox.user)
    oauth_provider.invalidate_access_tokens(oauth_mailbox.user)  # before its time, e.g. a password change
    oauth_mailbox.append(_mail(1))
    with _gateway_thread(app):
        assert _wait_until(lambda: _tickets(app) == 1)
    assert oauth_provider.requests_of("refresh_token") == ["ok"]
    assert [active for _token, active, _at in oauth_provider.logins] == [False, True]
    assert "failed; reconnecting" not in captured_logs.getvalue()


def test_two_sources_refresh_one_at_a_time_and_share_the_new_token(
        app_factory, oauth_mailbox, oauth_provider, smtp, captured_logs):
    # Two gateway processes (here: two sources) find the token expired at once. With refresh tokens
    # that rotate, a second refresh with the old one would be refused and look like a revoked grant.
    app = _oauth_app(app_factory, oauth_mailbox, oauth_provider)
    oauth_provider.expires_in = 1
    _connect(_browser(app), oauth_provider, oauth_mailbox.user)
    time.sleep(1.1)
    errors = []

    def sign_in():
        source = ImapSource(app.config["MAIL_MAILBOXES"][0], app.config)
        with app.app_context():
            try:
                source.connect()
                source.close()
            except Exception as exc:  # collected for the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign_in) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    assert oauth_provider.requests_of("refresh_token") == ["ok"]
    assert _grant(app).state == GRANT_OK


# --------------------------------------------------------------------------- a revoked grant

def test_revoked_grant_shows_in_the_console_mails_the_admins_once_and_the_gateway_waits(
        app_factory, oauth_mailbox, oauth_provider, smtp, captured_logs):
    app = _oauth_app(app_factory, oauth_mailbox, oauth_provider)
    client = _browser(app)
    _connect(client, oauth_provider, oauth_mailbox.user)
    oauth_provider.revoke_grants(oauth_mailbox.user)
    oauth_mailbox.append(_mail(1))
    with _gateway_thread(app):
        assert _wait_until(lambda: _grant(app).state == GRANT_ERROR)
        time.sleep(2)  # a gateway that retried would ask the provider again and again meanwhile
        assert oauth_provider.requests_of("refresh_token") == ["invalid_grant"]
    notices = smtp.wait_for(1)
    assert [str(m["To"]) for m in notices] == [f"Ada Admin <{ADMIN_EMAIL}>"]  # admins only, not agents
    assert "support" in str(notices[0]["Subject"])
    assert "http://helpdesk.example.test/agent/admin/mailboxes" in notices[0].get_content()
    page = client.get(CONSOLE).text
    assert "invalid_grant" in page and "The admins were told by email." in page
    assert "Reconnect" in page
    assert _tickets(app) == 0

    # A restart asks the provider once more; still refused, and the admins are not mailed again.
    since = _grant(app).error_since
    with _gateway_thread(app):
        assert _wait_until(lambda: len(oauth_provider.requests_of("refresh_token")) == 2)
        time.sleep(1)
        assert _grant(app).error_since == since
        # Connected again in the console: the waiting gateway notices and reads the mail.
        _connect(client, oauth_provider, oauth_mailbox.user)
        assert _wait_until(lambda: _tickets(app) == 1, timeout=10)
    assert len(smtp.messages) == 2  # the notice and the acknowledgement of the ticket
    grant = _grant(app)
    assert (grant.state, grant.error, grant.admins_notified) == (GRANT_OK, None, False)
    assert oauth_provider.requests_of("refresh_token") == ["invalid_grant", "invalid_grant"]
    assert "waiting for an admin" in captured_logs.getvalue()


def test_a_mailbox_never_connected_waits_without_asking_anyone(
        app_factory, oauth_mailbox, oauth_provider, smtp, captured_logs):
    app = _oauth_app(app_factory, oauth_mailbox, oauth_provider)
    oauth_mailbox.append(_mail(1))
    with _gateway_thread(app):
        time.sleep(1.5)
        assert oauth_provider.logins == [] and oauth_provider.token_requests == []
        _connect(_browser(app), oauth_provider, oauth_mailbox.user)
        assert _wait_until(lambda: _tickets(app) == 1, timeout=10)
    assert captured_logs.getvalue().count("is not connected to its OAuth provider yet") == 1
    assert smtp.wait_for(1) and all("support" not in str(m["Subject"]) or "[#" in str(m["Subject"])
                                    for m in smtp.messages)


def test_grant_table_holds_only_encrypted_tokens(app_factory, oauth_mailbox, oauth_provider, smtp,
                                                  captured_logs):
    app = _oauth_app(app_factory, oauth_mailbox, oauth_provider)
    _connect(_browser(app), oauth_provider, oauth_mailbox.user)
    rows = _query(app, lambda: db.session.execute(sa.text("SELECT * FROM mailbox_grants")).all())
    dumped = repr(rows)
    assert len(rows) == 1
    assert [token for token in oauth_provider.issued_tokens() if token in dumped] == []
