"""Login sessions end on the server: a logout, "log out everywhere", a password change or reset leave saved
session and remember-me cookies worthless; a login starts a new session with a new CSRF token; production
cookies are Secure. Cookies are saved and replayed through the Flask test client, as a thief would."""
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import LoginSession, User
from helpdesk.db import utcnow
from helpdesk.extensions import db
from tests.conftest import OneContextPerRequestClient, csrf_token
from tests.integration.test_accounts_portal import link_in, mail_to

PASSWORD = "correct horse battery"  # the make_user factory's default
NEW_PASSWORD = "a brand new secret 42"
COOKIES = ("session", "remember_token")


def log_in(client, login="carla@example.test", password=PASSWORD, **extra):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_token(page.text), "login": login, "password": password,
                                       **extra})


def post_with_token(client, path, page="/", **fields):
    token = csrf_token(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **fields})


def saved_cookies(client):
    """What a thief copying the browser's cookies would take away."""
    return {name: cookie.value for name in COOKIES if (cookie := client.get_cookie(name)) is not None}


def browser_with(app, cookies):
    """A new browser holding only ``cookies``."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def is_logged_in(client, name="Carla Customer"):
    page = client.get("/")
    return name in page.text and "Log out" in page.text


def sends_to_login(response):
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def live_sessions(user):
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == user.id))


@pytest.fixture
def browsers(client):
    """Browsers of one test, each with a request context per request (like ``client``)."""
    def new():
        return client.application.test_client()

    return new


# --------------------------------------------------------------------------- logout

def test_logout_ends_the_session_so_a_saved_session_cookie_no_longer_logs_in(client, customer):
    assert log_in(client).status_code == 302
    stolen = saved_cookies(client)
    assert set(stolen) == {"session"}
    assert is_logged_in(browser_with(client.application, stolen))  # the copy works while the session lasts

    assert post_with_token(client, "/logout").status_code == 302
    assert not is_logged_in(client)
    replayed = browser_with(client.application, stolen)
    assert not is_logged_in(replayed)
    assert sends_to_login(replayed.get("/profile"))
    assert live_sessions(customer) == 0


def test_logout_ends_a_saved_remember_me_cookie_too(client, customer):
    log_in(client, remember="y")
    stolen = saved_cookies(client)
    assert set(stolen) == {"session", "remember_token"}
    alone = {"remember_token": stolen["remember_token"]}
    assert is_logged_in(browser_with(client.application, alone))  # it logs a browser in by itself

    post_with_token(client, "/logout")
    assert client.get_cookie("remember_token") is None  # the browser forgets it
    for cookies in (alone, stolen, {"session": stolen["session"]}):
        replayed = browser_with(client.application, cookies)
        assert not is_logged_in(replayed), cookies.keys()
        assert sends_to_login(replayed.get("/profile"))


def test_logout_of_one_browser_leaves_the_others_logged_in(client, customer, browsers):
    phone = browsers()
    log_in(client)
    log_in(phone, remember="y")
    assert live_sessions(customer) == 2
    post_with_token(client, "/logout")
    assert not is_logged_in(client)
    assert is_logged_in(phone)
    assert is_logged_in(browser_with(client.application, {"remember_token": phone.get_cookie("remember_token").value}))
    assert live_sessions(customer) == 1


def test_logging_in_again_after_logout_gives_a_new_session(client, customer):
    log_in(client)
    first = saved_cookies(client)
    post_with_token(client, "/logout")
    log_in(client)
    assert is_logged_in(client)
    assert not is_logged_in(browser_with(client.application, first))


def test_session_rows_keep_only_a_hash_of_the_token(client, customer):
    log_in(client, remember="y")
    db.session.rollback()
    row = db.session.scalars(sa.select(LoginSession)).one()
    token = client.application.session_interface.get_signing_serializer(client.application).loads(
        client.get_cookie("session").value)["_user_id"].split(":")[2]
    assert len(token) >= 40 and token not in row.token_hash
    assert timedelta(days=29) < row.expires_at - row.created_at <= timedelta(days=30)


def test_an_expired_session_no_longer_logs_in(client, customer):
    log_in(client, remember="y")
    db.session.rollback()
    db.session.execute(sa.update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert not is_logged_in(client)
    log_in(client)  # a new login clears the user's expired rows away
    assert live_sessions(customer) == 1


# --------------------------------------------------------------------------- log out everywhere

def test_profile_offers_log_out_everywhere_and_counts_the_browsers(client, customer, browsers):
    log_in(client)
    log_in(browsers())
    page = client.get("/profile").text
    assert "Log out everywhere" in page and 'action="/profile/log-out-everywhere"' in page
    assert "Your account is logged in in 2 browsers." in page


def test_log_out_everywhere_ends_every_session_including_remembered_ones(client, customer, browsers):
    laptop, phone = browsers(), browsers()
    log_in(client)
    log_in(laptop, remember="y")
    log_in(phone)
    stolen = [saved_cookies(b) for b in (client, laptop, phone)]

    response = post_with_token(client, "/profile/log-out-everywhere", page="/profile")
    assert sends_to_login(response)
    assert "You have been logged out everywhere." in client.get("/login").text
    for browser in (client, laptop, phone):
        assert not is_logged_in(browser)
    for cookies in stolen:
        assert not is_logged_in(browser_with(client.application, cookies))
        assert not is_logged_in(browser_with(client.application, {k: v for k, v in cookies.items()
                                                                   if k == "remember_token"}))
    assert live_sessions(customer) == 0
    assert log_in(client).status_code == 302  # the password still works


def test_log_out_everywhere_leaves_other_users_alone(client, customer, make_user, browsers):
    make_user("customer", email="olga@example.test", full_name="Olga Other")
    olga = browsers()
    log_in(olga, "olga@example.test")
    log_in(client)
    post_with_token(client, "/profile/log-out-everywhere", page="/profile")
    assert is_logged_in(olga, "Olga Other")


def test_log_out_everywhere_needs_a_login_a_post_and_the_csrf_token(client, customer):
    assert sends_to_login(post_with_token(client, "/profile/log-out-everywhere"))
    log_in(client)
    assert client.get("/profile/log-out-everywhere").status_code == 405
    assert client.post("/profile/log-out-everywhere").status_code == 400
    assert client.post("/profile/log-out-everywhere", data={"csrf_token": "forged"}).status_code == 400
    assert is_logged_in(client)
    assert live_sessions(customer) == 1


# --------------------------------------------------------------------------- password change and reset

def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return post_with_token(client, "/profile/password", page="/profile", current_password=current, password=new,
                           confirm=new if confirm is None else confirm)


def test_password_change_ends_the_other_sessions_and_keeps_this_one(client, customer, browsers):
    phone, tablet = browsers(), browsers()
    log_in(phone, remember="y")
    log_in(tablet)
    log_in(client, remember="y")
    stolen_phone = saved_cookies(phone)

    response = change_password(client)
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    assert "Your password has been changed." in client.get("/profile").text
    assert is_logged_in(client)
    assert is_logged_in(browser_with(client.application, {"remember_token": client.get_cookie("remember_token").value}))
    assert not is_logged_in(phone) and not is_logged_in(tablet)
    assert not is_logged_in(browser_with(client.application, stolen_phone))
    assert live_sessions(customer) == 1

    fresh = browsers()
    assert log_in(fresh, password=PASSWORD).status_code == 200
    assert log_in(fresh, password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(("current", "new", "confirm", "field", "message"), [
    ("wrong horse battery", NEW_PASSWORD, None, "current_password", "That is not your current password."),
    ("", NEW_PASSWORD, None, "current_password", "Enter your current password."),
    (PASSWORD, "short", None, "password", "Use at least 10 characters."),
    (PASSWORD, "aaaaaaaaaaaa", None, "password", "That password is too easy to guess."),
    (PASSWORD, NEW_PASSWORD, "something else 42", "confirm", "The two passwords are not the same."),
])
def test_password_change_refused_says_why_beside_the_field_and_ends_nothing(client, customer, browsers, current,
                                                                             new, confirm, field, message):
    phone = browsers()
    log_in(phone)
    log_in(client)
    response = change_password(client, current=current, new=new, confirm=confirm)
    assert response.status_code == 400
    assert re.search(rf'id="{field}-error"[^>]*>{re.escape(message)}<', response.text)
    assert is_logged_in(phone) and is_logged_in(client)
    db.session.rollback()
    assert log_in(browsers(), password=PASSWORD).status_code == 302  # the password is unchanged


def test_password_change_needs_a_login_and_the_csrf_token(client, customer):
    assert sends_to_login(post_with_token(client, "/profile/password", current_password=PASSWORD))
    log_in(client)
    response = client.post("/profile/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                      "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert log_in(client.application.test_client(), password=PASSWORD).status_code == 302


def test_password_reset_ends_every_other_session_including_remembered_cookies(client, smtp, customer, browsers):
    phone = browsers()
    log_in(phone, remember="y")
    stolen = saved_cookies(phone)

    post_with_token(client, "/forgot-password", page="/forgot-password", email="carla@example.test")
    path = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    response = post_with_token(client, path, page=path, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)  # the browser that reset the password is logged in afresh
    assert not is_logged_in(phone)
    for cookies in (stolen, {"remember_token": stolen["remember_token"]}):
        assert not is_logged_in(browser_with(client.application, cookies))
    assert live_sessions(customer) == 1


def test_deactivating_a_staff_account_ends_its_sessions(client, make_user, browsers):
    from helpdesk.accounts import staff
    from helpdesk.actors import SYSTEM

    make_user("admin", email="root@example.test")
    agent = make_user("agent", email="anna@example.test", full_name="Anna Agent")
    log_in(client, "anna@example.test", remember="y")
    stolen = saved_cookies(client)
    staff.deactivate(SYSTEM, agent)
    assert not is_logged_in(client, "Anna Agent")
    assert not is_logged_in(browser_with(client.application, stolen), "Anna Agent")


# --------------------------------------------------------------------------- login rotates the session

def test_login_gives_a_new_csrf_token_and_the_one_from_before_no_longer_works(client, customer):
    page = client.get("/login").text
    old_token = csrf_token(page)
    before = saved_cookies(client)
    client.post("/login", data={"csrf_token": old_token, "login": "carla@example.test", "password": PASSWORD})
    assert client.get_cookie("session").value != before["session"]
    new_token = csrf_token(client.get("/profile").text)
    assert new_token != old_token

    assert client.post("/profile/log-out-everywhere", data={"csrf_token": old_token}).status_code == 400
    assert client.post("/logout", data={"csrf_token": old_token}).status_code == 400
    assert client.post("/profile/password", data={"csrf_token": old_token, "current_password": PASSWORD,
                                                  "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400
    client.post("/profile", data={"csrf_token": old_token, "full_name": "Mallory", "locale": "", "timezone": ""})
    assert is_logged_in(client)  # none of them did anything
    db.session.rollback()
    assert db.session.scalar(sa.select(User.full_name).where(User.email == "carla@example.test")) == "Carla Customer"
    assert client.post("/logout", data={"csrf_token": new_token}).status_code == 302
    assert not is_logged_in(client)


def test_the_session_cookie_from_before_the_login_stays_logged_out(client, customer):
    client.get("/login")
    before = saved_cookies(client)
    log_in(client)
    assert is_logged_in(client)
    replayed = browser_with(client.application, before)
    assert not is_logged_in(replayed)
    assert sends_to_login(replayed.get("/profile"))


def test_login_drops_whatever_the_session_held_before(client, customer):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["csrf_token"] = "a" * 40  # a token an attacker knows
    log_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != "a" * 40


def test_logout_renews_the_csrf_token_too(client, customer):
    log_in(client)
    token = csrf_token(client.get("/").text)
    post_with_token(client, "/logout")
    assert csrf_token(client.get("/").text) != token
    assert client.post("/language/de", data={"csrf_token": token}).status_code == 400


# --------------------------------------------------------------------------- cookie flags

def set_cookies(response):
    """{name: lower-cased attributes} of every Set-Cookie header."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = [part.strip().lower() for part in rest.split(";")[1:]]
    return cookies


def remembered_login(app):
    app.test_client_class = OneContextPerRequestClient
    client = app.test_client()
    with app.app_context():
        page = client.get("/login", base_url="https://localhost")
        # Over HTTPS Flask-WTF also wants the Referer of a same-site page, as a browser sends it.
        return client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"csrf_token": csrf_token(page.text), "login": "carla@example.test",
                                 "password": PASSWORD, "remember": "y"})


PRODUCTION = {"ENV": "production", "SECRET_KEY": "a-production-secret-key-of-more-than-32-characters"}


def test_production_cookies_are_secure_http_only_and_same_site_lax(app_factory, customer):
    response = remembered_login(app_factory(**PRODUCTION))
    assert response.status_code == 302
    cookies = set_cookies(response)
    for name in COOKIES:
        assert "secure" in cookies[name], name
        assert "httponly" in cookies[name], name
        assert "samesite=lax" in cookies[name], name


def test_cookies_are_not_secure_outside_production_unless_configured(app_factory, customer):
    cookies = set_cookies(remembered_login(app_factory()))
    for name in COOKIES:
        assert "secure" not in cookies[name]
        assert "samesite=lax" in cookies[name] and "httponly" in cookies[name]
    cookies = set_cookies(remembered_login(app_factory(SESSION_COOKIE_SECURE=True)))
    assert all("secure" in cookies[name] for name in COOKIES)


def test_production_may_turn_secure_cookies_off_explicitly(app_factory, customer):
    app = app_factory(**PRODUCTION, SESSION_COOKIE_SECURE=False)
    assert (app.config["SESSION_COOKIE_SECURE"], app.config["REMEMBER_COOKIE_SECURE"]) == (False, False)


def test_production_cookie_settings_come_from_the_environment_too(monkeypatch, app_factory):
    monkeypatch.setenv("HELPDESK_ENV", "production")
    monkeypatch.setenv("HELPDESK_SECRET_KEY", PRODUCTION["SECRET_KEY"])
    app = app_factory()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


# --------------------------------------------------------------------------- forgot password

def test_forgot_password_request_does_the_same_for_known_and_unknown_addresses(app_factory, smtp, redis_prefix,
                                                                               customer):
    """The request queues one job and writes nothing, whatever the address; the job then mails the owner."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from helpdesk import jobs
    from helpdesk.accounts.models import AccountToken
    from helpdesk.notify.models import OutboxEmail

    app = app_factory(REDIS_URL="redis://127.0.0.1:6379/0", QUEUE_PREFIX=redis_prefix)
    app.test_client_class = OneContextPerRequestClient
    queue = Queue(f"{redis_prefix}-default", connection=Redis.from_url("redis://127.0.0.1:6379/0"))
    client = app.test_client()
    with app.app_context():
        pages = []
        for n, email in enumerate(("carla@example.test", "nobody@example.test", "not an address")):
            pages.append(post_with_token(client, "/forgot-password", page="/forgot-password", email=email))
            assert queue.count == n + 1
            db.session.rollback()
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountToken)) == 0
            assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) == 0
        assert len({(p.status_code, re.sub(r'value="[^"]*"', "", p.text)) for p in pages}) == 1

        jobs.bind_app(app)
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        db.session.rollback()
        assert db.session.scalars(sa.select(OutboxEmail.recipient)).all() == ["carla@example.test"]
        db.session.remove()
