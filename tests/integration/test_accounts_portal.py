"""Customer accounts through the web: registering, activating by the emailed link, forgetting and resetting
a password, the profile, the privacy page, admin-created accounts and rate limits (login throttling
and sessions: test_login_throttle.py, test_sessions.py). Mail is read from the real SMTP test server
and its links are followed."""
import hashlib
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import AccountToken, User
from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.db import utcnow
from helpdesk.extensions import db, limiter
from helpdesk.tickets import access, service
from tests.conftest import OneContextPerRequestClient, csrf_token

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


PASSWORD = "correct horse battery"  # the make_user factory's default
NEW_PASSWORD = "a brand new secret 42"
SAME_ANSWER = "Email or password is not correct."
BASE = "http://helpdesk.example.test"
FORGOT_ANSWER = "If this address is registered, we sent a link to set a new password."
REGISTER_ANSWER = "We sent an email to the address you gave."


# --------------------------------------------------------------------------- helpers

def post_form(client, path, **fields):
    """Fetch the page, then submit its form with ``fields`` and its CSRF token, as a browser would."""
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token(page.text), **fields})


def log_in(client, login, password=PASSWORD):
    return post_form(client, "/login", login=login, password=password)


def register(client, email="rita@example.test", full_name="Rita Register", consent="y", **extra):
    fields = {"email": email, "full_name": full_name, **extra}
    if consent:
        fields["consent"] = consent
    return post_form(client, "/register", **fields)


def mail_to(smtp, address, subject_part, timeout=10.0):
    """The first message to ``address`` whose subject contains ``subject_part`` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in smtp.to(address):
            if subject_part in str(message["Subject"]):
                return message
        time.sleep(0.05)
    subjects = [str(m["Subject"]) for m in smtp.messages]
    raise AssertionError(f"no mail to {address} about {subject_part!r}; got {subjects}")


def mails_to(smtp, address, settle=0.5):
    time.sleep(settle)  # mail goes out after commit; give a wrongly sent one the time to arrive
    return smtp.to(address)


def link_in(message, path_prefix):
    """The path of the first link under BASE_URL starting with ``path_prefix`` in the plain-text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(re.escape(BASE) + r"(" + re.escape(path_prefix) + r"[^\s<>\"]+)", text)
    assert match, f"no {path_prefix} link in:\n{text}"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert match.group(1) in html  # the HTML part carries the same link
    return match.group(1)


def fresh():
    """End the test's own transaction so the next read sees what the requests committed."""
    db.session.rollback()


def user_by_email(email):
    fresh()
    return db.session.scalar(sa.select(User).where(User.email == email))


def tokens_of(user):
    fresh()
    return db.session.scalars(sa.select(AccountToken).where(AccountToken.user_id == user.id)).all()


def expire_tokens(user):
    fresh()
    db.session.execute(sa.update(AccountToken).where(AccountToken.user_id == user.id)
                       .values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()


def logged_in_as(client, name):
    page = client.get("/")
    return name in page.text and "Log out" in page.text


def activate(client, path, password=NEW_PASSWORD, confirm=None):
    return post_form(client, path, password=password, confirm=password if confirm is None else confirm)


def register_and_activate(client, smtp, email="rita@example.test", full_name="Rita Register", **extra):
    register(client, email=email, full_name=full_name, **extra)
    path = link_in(mail_to(smtp, email, "Activate"), "/activate/")
    response = activate(client, path)
    assert response.status_code == 302
    return path


# --------------------------------------------------------------------------- registering and activating

def test_login_page_links_to_forgot_password_and_register(client):
    page = client.get("/login").text
    assert 'href="/forgot-password"' in page and "Forgot your password?" in page
    assert 'href="/register"' in page


def test_register_page_has_the_fields_the_email_hint_and_the_privacy_policy(client):
    response = client.get("/register")
    assert response.status_code == 200
    page = response.text
    for label in ("Full name", "Email address", "Company (optional)", "Phone (optional)",
                  "I agree to the privacy policy."):
        assert label in page
    assert "We recommend using your company email address." in page
    assert 'href="/privacy"' in page
    assert csrf_token(page)
    privacy = client.get("/privacy")
    assert privacy.status_code == 200 and "Privacy policy" in privacy.text


def test_menu_shows_register_to_visitors_and_profile_to_logged_in_users(client, customer):
    assert 'href="/register"' in client.get("/").text
    log_in(client, "carla@example.test")
    page = client.get("/").text
    assert 'href="/profile"' in page
    assert 'href="/register"' not in page


def test_registering_mails_an_activation_link_that_sets_the_password_and_logs_in(client, smtp):
    before = utcnow()
    response = register(client, company="Rita GmbH", phone="+49 30 1234")
    assert response.status_code == 200
    assert REGISTER_ANSWER in response.text

    user = user_by_email("rita@example.test")
    assert user.is_customer and user.password_hash is None
    assert user.consent_policy_version == client.application.config["PRIVACY_POLICY_VERSION"]
    assert before - timedelta(seconds=1) <= user.consent_at <= utcnow()
    assert (user.company_name, user.phone, user.locale) == ("Rita GmbH", "+49 30 1234", "en")

    message = mail_to(smtp, "rita@example.test", "Activate")
    path = link_in(message, "/activate/")
    form = client.get(path)
    assert form.status_code == 200 and "Activate and log in" in form.text

    response = activate(client, path)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").text
    assert "Your account is active." in home
    assert "Rita Register" in home and "Log out" in home
    user = user_by_email("rita@example.test")
    assert user.is_active and user.activated_at is not None


def test_only_the_hash_of_a_token_is_stored(client, smtp):
    register(client)
    token = link_in(mail_to(smtp, "rita@example.test", "Activate"), "/activate/").rsplit("/", 1)[1]
    (row,) = tokens_of(user_by_email("rita@example.test"))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    assert row.purpose == "activation"
    assert timedelta(hours=71) < row.expires_at - row.created_at <= timedelta(hours=72)


def test_register_without_consent_shows_the_error_beside_the_field_and_keeps_the_input(client, smtp):
    response = register(client, consent=None, company="Rita GmbH")
    assert response.status_code == 200
    assert 'id="consent-error"' in response.text
    assert "Please agree to the privacy policy to register." in response.text
    assert 'value="rita@example.test"' in response.text
    assert 'value="Rita Register"' in response.text
    assert 'value="Rita GmbH"' in response.text
    assert user_by_email("rita@example.test") is None
    assert mails_to(smtp, "rita@example.test") == []


def test_register_with_an_invalid_email_says_so_beside_the_field(client):
    response = register(client, email="not-an-address")
    assert 'id="email-error"' in response.text
    assert "Enter a valid email address." in response.text
    assert 'value="not-an-address"' in response.text


def test_register_for_an_existing_account_looks_the_same_and_mails_a_reset_link_instead(client, smtp, customer):
    new = register(client, email="rita@example.test")
    existing = register(client, email="carla@example.test", full_name="Someone Else")
    assert new.status_code == existing.status_code == 200
    strip = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731 (CSRF tokens differ)
    assert strip(new.text) == strip(existing.text)

    message = mail_to(smtp, "carla@example.test", "already have")
    assert "Activate" not in str(message["Subject"])
    path = link_in(message, "/reset-password/")
    user = user_by_email("carla@example.test")
    assert user.full_name == "Carla Customer"  # nothing about the account changed
    assert [t.purpose for t in tokens_of(user)] == ["reset"]

    activate(client, path)
    assert logged_in_as(client, "Carla Customer")
    assert log_in(client.application.test_client(), "carla@example.test", NEW_PASSWORD).status_code == 302


def test_activation_link_works_once(client, smtp):
    path = register_and_activate(client, smtp)
    other = client.application.test_client()
    assert other.get(path).status_code == 410
    assert "This link has expired" in other.get(path).text
    # Posting to the used link does not set a password either.
    page = other.get("/register")
    used = other.post(path, data={"csrf_token": csrf_token(page.text), "password": "another secret 99",
                                  "confirm": "another secret 99"})
    assert used.status_code == 410
    assert log_in(client.application.test_client(), "rita@example.test", "another secret 99").status_code == 200


def test_expired_activation_link_shows_the_expired_page_with_a_way_to_ask_again(client, smtp):
    register(client)
    path = link_in(mail_to(smtp, "rita@example.test", "Activate"), "/activate/")
    expire_tokens(user_by_email("rita@example.test"))
    response = client.get(path)
    assert response.status_code == 410
    assert "This link has expired" in response.text
    assert 'href="/forgot-password"' in response.text
    assert user_by_email("rita@example.test").password_hash is None


def test_activation_refuses_a_weak_or_mismatched_password_and_the_link_still_works(client, smtp):
    register(client)
    path = link_in(mail_to(smtp, "rita@example.test", "Activate"), "/activate/")
    short = activate(client, path, password="short")
    assert short.status_code == 200
    assert "Use at least 10 characters." in short.text and 'id="password-error"' in short.text
    mismatch = activate(client, path, confirm="something else entirely")
    assert "The two passwords are not the same." in mismatch.text
    assert activate(client, path).status_code == 302


def test_guest_tickets_appear_in_the_account_after_registering_with_the_same_email(client, smtp):
    ticket = service.open_ticket(GUEST_FORM, subject="Printer on fire", body_text="Smoke everywhere.",
                                 requester_email="Gina@Example.test", requester_name="Gina Guest")
    register_and_activate(client, smtp, email="gina@example.test", full_name="Gina Guest")

    user = user_by_email("gina@example.test")
    assert user.is_active
    assert [t.id for t in db.session.scalars(access.visible_tickets(user))] == [ticket.id]
    assert "Printer on fire" in client.get("/").text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)
                             .where(User.email == "gina@example.test")) == 1


def test_registration_mail_is_in_the_language_of_the_page(client, smtp):
    client.set_cookie("lang", "de")
    register(client)
    message = mail_to(smtp, "rita@example.test", "Konto")
    assert user_by_email("rita@example.test").locale == "de"
    assert "/activate/" in message.get_body(preferencelist=("plain",)).get_content()


# --------------------------------------------------------------------------- forgetting and resetting

def test_forgot_password_answers_the_same_for_known_unknown_and_unactivated_addresses(client, smtp, customer):
    service.open_ticket(GUEST_FORM, subject="Hello", body_text="Hi", requester_email="guest@example.test")
    answers = [post_form(client, "/forgot-password", email=email)
               for email in ("carla@example.test", "nobody@example.test", "guest@example.test")]
    assert {a.status_code for a in answers} == {200}
    assert all(FORGOT_ANSWER in a.text for a in answers)
    strip = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731
    assert len({strip(a.text) for a in answers}) == 1

    mail_to(smtp, "carla@example.test", "Reset")
    assert mails_to(smtp, "nobody@example.test") == []
    assert [m for m in smtp.to("guest@example.test") if "Reset" in str(m["Subject"])] == []


def test_reset_link_sets_a_new_password_logs_in_and_ends_other_sessions(client, smtp, customer):
    elsewhere = client.application.test_client()
    log_in(elsewhere, "carla@example.test")
    assert logged_in_as(elsewhere, "Carla Customer")

    post_form(client, "/forgot-password", email="carla@example.test")
    path = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    row = tokens_of(customer)[0]
    assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(minutes=60)
    response = activate(client, path)
    assert response.status_code == 302
    home = client.get("/")
    assert "Password reset successful." in home.text
    assert logged_in_as(client, "Carla Customer")

    assert not logged_in_as(elsewhere, "Carla Customer")
    fresh = client.application.test_client()
    assert log_in(fresh, "carla@example.test", PASSWORD).status_code == 200  # the old password is gone
    assert log_in(fresh, "carla@example.test", NEW_PASSWORD).status_code == 302


def test_reset_link_works_once(client, smtp, customer):
    post_form(client, "/forgot-password", email="carla@example.test")
    path = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    assert activate(client, path).status_code == 302
    again = client.application.test_client().get(path)
    assert again.status_code == 410 and "This link has expired" in again.text


def test_expired_reset_link_shows_the_expired_page(client, smtp, customer):
    post_form(client, "/forgot-password", email="carla@example.test")
    path = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    expire_tokens(customer)
    response = client.get(path)
    assert response.status_code == 410
    assert "This link has expired" in response.text and 'href="/forgot-password"' in response.text
    assert log_in(client, "carla@example.test", PASSWORD).status_code == 302  # password unchanged


def test_a_newer_reset_link_replaces_the_older_one(client, smtp, customer):
    post_form(client, "/forgot-password", email="carla@example.test")
    first = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    smtp.clear()
    post_form(client, "/forgot-password", email="carla@example.test")
    second = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    assert first != second
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_reset_refuses_a_password_that_breaks_the_rules_and_keeps_the_link(client, smtp, customer):
    post_form(client, "/forgot-password", email="carla@example.test")
    path = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    weak = activate(client, path, password="aaaaaaaaaaaa")
    assert weak.status_code == 200 and "That password is too easy to guess." in weak.text
    assert activate(client, path).status_code == 302


def test_unknown_token_shows_the_expired_page(client):
    assert client.get("/reset-password/nonsense").status_code == 410
    assert client.get("/activate/nonsense").status_code == 410


# --------------------------------------------------------------------------- rate limits

def test_register_and_forgot_password_posts_are_rate_limited_per_address(app_factory, smtp):
    app = app_factory(ACCOUNT_FORM_RATE_LIMIT="2 per minute")
    app.test_client_class = OneContextPerRequestClient
    limiter.reset()
    try:
        client = app.test_client()
        with app.app_context():
            assert [register(client, email=f"r{n}@example.test").status_code for n in range(3)] == [200, 200, 429]
            forgot = [post_form(client, "/forgot-password", email="x@example.test").status_code for _ in range(3)]
            assert forgot == [200, 200, 429]
            assert client.get("/register").status_code == 200  # reading is not limited
    finally:
        limiter.reset()


# --------------------------------------------------------------------------- admin-created accounts

def test_admin_created_customer_logs_in_with_username_or_email(client, make_user):
    admin = make_user("admin")
    user = accounts.admin_create_customer(admin, "acme-jo", "jo@acme.test", "Jo Acme", "jo's long password")
    assert user.is_customer and user.is_active and user.username == "acme-jo"
    assert log_in(client, "acme-jo", "jo's long password").status_code == 302
    assert logged_in_as(client, "Jo Acme")
    other = client.application.test_client()
    assert log_in(other, "jo@acme.test", "jo's long password").status_code == 302


def test_only_admins_create_customer_accounts_and_a_username_is_required(app, make_user):
    from helpdesk.errors import NotAllowed, ValidationFailed

    agent = make_user("agent")
    with pytest.raises(NotAllowed):
        accounts.admin_create_customer(agent, "x", "x@example.test", "X", "a long enough secret")
    with pytest.raises(ValidationFailed) as excinfo:
        accounts.admin_create_customer(SYSTEM, "", "x@example.test", "X", "a long enough secret")
    assert "username" in excinfo.value.errors


# --------------------------------------------------------------------------- profile

def test_profile_needs_a_login(client):
    response = client.get("/profile")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_customer_edits_name_phone_language_and_time_zone_but_not_email(client, customer):
    log_in(client, "carla@example.test")
    page = client.get("/profile").text
    assert 'value="carla@example.test"' in page and "readonly" in page
    response = post_form(client, "/profile", full_name="Carla C. Customer", phone="+36 1 234",
                         locale="hu", timezone="Europe/Budapest", email="evil@example.test")
    assert response.status_code == 302
    user = user_by_email("carla@example.test")
    assert (user.full_name, user.phone, user.locale, user.timezone) == (
        "Carla C. Customer", "+36 1 234", "hu", "Europe/Budapest")
    assert user_by_email("evil@example.test") is None


def test_profile_errors_appear_beside_the_field_and_keep_the_input(client, customer):
    log_in(client, "carla@example.test")
    response = post_form(client, "/profile", full_name="", phone="+36 1 234", locale="de", timezone="Mars/Base")
    assert response.status_code == 200
    assert 'id="full_name-error"' in response.text
    assert 'id="timezone-error"' in response.text
    assert 'value="+36 1 234"' in response.text
    assert user_by_email("carla@example.test").phone is None


def test_reset_link_of_an_account_deactivated_since_shows_the_expired_page(client, smtp, customer):
    post_form(client, "/forgot-password", email="carla@example.test")
    path = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    fresh()
    db.session.execute(sa.update(User).where(User.id == customer.id).values(active=False))
    db.session.commit()
    response = activate(client, path)
    assert response.status_code == 410 and "This link has expired" in response.text
    assert not logged_in_as(client, "Carla Customer")
