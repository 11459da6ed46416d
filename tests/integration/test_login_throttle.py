"""Login throttling by (login, IP address): failed passwords from one address make that address wait, longer
after each failure, while the owner logs in from anywhere else; unknown logins are treated alike; the
owner is mailed once when throttling begins. Time passing is simulated by moving the stored times."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import LoginThrottle
from helpdesk.actors import SYSTEM
from helpdesk.extensions import db, limiter
from tests.conftest import OneContextPerRequestClient, csrf_token
from tests.integration.test_accounts_portal import link_in, mail_to, mails_to

PASSWORD = "correct horse battery"  # the make_user factory's default
WRONG = "Email or password is not correct."
WAIT = "Too many failed attempts. Please wait a moment and try again."
ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def client(app_factory, smtp):
    # Flask-Limiter's per-address limit on the form is tested elsewhere (test_web_skeleton.py). A first
    # wait of a minute: a test never outruns it, whatever the machine's speed; the doubling has its own test.
    app = app_factory(ACCOUNT_FORM_RATE_LIMIT="1000 per minute", LOGIN_THROTTLE_FIRST_DELAY_SECONDS=60)
    app.test_client_class = OneContextPerRequestClient
    limiter.reset()
    with app.app_context():
        yield app.test_client()
        db.session.remove()
    limiter.reset()


@pytest.fixture
def carla(client):
    return accounts.create_user(SYSTEM, email="carla@example.test", full_name="Carla Customer", role="customer",
                                password=PASSWORD, username="carla")


def attempt(client, login="carla@example.test", password="wrong password", ip=ATTACKER):
    environ = {"REMOTE_ADDR": ip}
    page = client.get("/login", environ_base=environ)
    return client.post("/login", environ_base=environ,
                       data={"csrf_token": csrf_token(page.text), "login": login, "password": password})


def fail(client, times, login="carla@example.test", ip=ATTACKER):
    return [attempt(client, login, ip=ip) for _ in range(times)]


def rows(**where):
    db.session.rollback()
    query = sa.select(LoginThrottle)
    for name, value in where.items():
        query = query.where(getattr(LoginThrottle, name) == value)
    return db.session.scalars(query).all()


def let_time_pass(**delta):
    """Move every stored failure and wait back by ``delta`` (as if that much time had passed)."""
    db.session.rollback()
    shift = timedelta(**delta)
    for row in db.session.scalars(sa.select(LoginThrottle)):
        row.last_failed_at -= shift
        row.notified_at = row.notified_at and row.notified_at - shift
        row.blocked_until = row.blocked_until and row.blocked_until - shift
    db.session.commit()


def strip(page):
    return re.sub(r'value="[^"]*"', "", page)


def throttle_mails(smtp, address="carla@example.test"):
    return [m for m in mails_to(smtp, address) if "Failed logins" in str(m["Subject"])]


# --------------------------------------------------------------------------- who waits

def test_five_failures_make_that_address_wait_with_a_generic_answer(client, carla):
    for response in fail(client, 5):
        assert response.status_code == 200 and WRONG in response.text
    waiting = attempt(client, password=PASSWORD)
    assert waiting.status_code == 429
    assert WAIT in waiting.text and WRONG not in waiting.text
    assert "Log out" not in client.get("/").text  # the right password did not get in


def test_four_failures_do_not_make_anyone_wait(client, carla):
    fail(client, 4)
    assert attempt(client, password=PASSWORD).status_code == 302


def test_the_owner_logs_in_from_another_address_while_the_attacker_waits(client, carla):
    fail(client, 12)
    assert attempt(client, password=PASSWORD).status_code == 429
    owner = client.application.test_client()
    response = attempt(owner, password=PASSWORD, ip=OWNER)
    assert response.status_code == 302
    assert "Carla Customer" in owner.get("/", environ_base={"REMOTE_ADDR": OWNER}).text
    assert attempt(client, password=PASSWORD).status_code == 429  # the owner's login frees nobody else


def test_the_owner_from_another_address_may_even_mistype_a_few_times(client, carla):
    fail(client, 8)
    owner = client.application.test_client()
    fail(owner, 3, ip=OWNER)
    assert attempt(owner, password=PASSWORD, ip=OWNER).status_code == 302


def test_the_wait_doubles_with_each_further_failure_up_to_the_cap(app_factory, smtp):
    app = app_factory(ACCOUNT_FORM_RATE_LIMIT="1000 per minute", LOGIN_THROTTLE_AFTER_FAILURES=3,
                      LOGIN_THROTTLE_FIRST_DELAY_SECONDS=60, LOGIN_THROTTLE_MAX_DELAY_SECONDS=600)
    app.test_client_class = OneContextPerRequestClient
    limiter.reset()
    with app.app_context():
        accounts.create_user(SYSTEM, email="carla@example.test", full_name="Carla", role="customer",
                             password=PASSWORD)
        client = app.test_client()
        waits = []
        for _ in range(7):
            assert attempt(client).status_code == 200  # a failure, not a refusal: the wait had passed
            (row,) = rows()
            waits.append(row.blocked_until and (row.blocked_until - row.last_failed_at).total_seconds())
            if row.blocked_until:
                assert attempt(client, password=PASSWORD).status_code == 429
                let_time_pass(seconds=waits[-1])
        assert waits == [None, None, 60, 120, 240, 480, 600]
        assert attempt(client, password=PASSWORD).status_code == 302
        db.session.remove()
    limiter.reset()


def test_refused_attempts_while_waiting_do_not_count_as_failures(client, carla):
    fail(client, 5)
    for _ in range(5):
        assert attempt(client).status_code == 429
    (row,) = rows()
    assert row.failures == 5


def test_once_the_wait_is_over_the_right_password_gets_in_and_clears_that_address(client, carla):
    fail(client, 5)
    let_time_pass(seconds=61)
    assert attempt(client, password=PASSWORD).status_code == 302
    assert rows(ip=ATTACKER) == []


def test_failures_are_forgotten_after_a_quiet_window(client, carla):
    fail(client, 5)
    let_time_pass(minutes=16)
    for response in fail(client, 4):
        assert response.status_code == 200
    (row,) = rows()
    assert row.failures == 4
    assert attempt(client, password=PASSWORD).status_code == 302


def test_failures_by_email_and_by_username_count_against_the_same_account(client, carla):
    fail(client, 3, login="carla@example.test")
    fail(client, 2, login="carla")
    assert attempt(client, login="CARLA@example.test ", password=PASSWORD).status_code == 429
    assert attempt(client, login="carla", password=PASSWORD).status_code == 429


def test_one_account_being_throttled_leaves_other_accounts_alone(client, carla):
    accounts.create_user(SYSTEM, email="olga@example.test", full_name="Olga", role="customer", password=PASSWORD)
    fail(client, 8)
    assert attempt(client, login="olga@example.test", password=PASSWORD).status_code == 302


def test_a_password_reset_clears_the_throttle(client, smtp, carla):
    fail(client, 6)
    page = client.get("/forgot-password")
    client.post("/forgot-password", data={"csrf_token": csrf_token(page.text), "email": "carla@example.test"})
    path = link_in(mail_to(smtp, "carla@example.test", "Reset"), "/reset-password/")
    owner = client.application.test_client()
    token = csrf_token(owner.get(path).text)
    assert owner.post(path, data={"csrf_token": token, "password": "a brand new secret 42",
                                  "confirm": "a brand new secret 42"}).status_code == 302
    assert rows() == []
    assert attempt(client, password="a brand new secret 42").status_code == 302


# --------------------------------------------------------------------------- unknown logins look the same

@pytest.mark.parametrize("unknown", ["nobody@example.test", "nobody", "walk-in@example.test"])
def test_unknown_logins_get_the_same_answers_at_every_step(client, carla, unknown):
    accounts.find_or_create_customer("walk-in@example.test")  # a customer record without a password
    db.session.commit()
    other = client.application.test_client()
    for n in range(8):
        known_answer = attempt(client, "carla@example.test", ip=ATTACKER)
        unknown_answer = attempt(other, unknown, ip=OWNER)
        assert known_answer.status_code == unknown_answer.status_code, n
        assert strip(known_answer.text) == strip(unknown_answer.text).replace(unknown, "carla@example.test"), n
    assert known_answer.status_code == 429


def test_unknown_logins_are_counted_by_what_was_typed_in_any_case(client):
    fail(client, 3, login="Nobody@Example.test")
    fail(client, 2, login=" nobody@example.test")
    assert attempt(client, login="nobody@example.test").status_code == 429
    assert attempt(client, login="somebody@example.test").status_code == 200


def test_stale_rows_are_cleared_away(client, carla):
    for n in range(20):
        attempt(client, login=f"guess{n}@example.test")
    let_time_pass(minutes=16)
    attempt(client, login="carla@example.test")
    assert [row.login_key.startswith("user:") for row in rows()] == [True]


def test_nothing_but_a_hash_of_an_unknown_login_is_stored(client):
    fail(client, 1, login="secret-looking-name@example.test")
    (row,) = rows()
    assert "secret" not in row.login_key and row.user_id is None


# --------------------------------------------------------------------------- the owner is told

def test_the_owner_is_mailed_once_when_throttling_begins(client, smtp, carla):
    fail(client, 4)
    assert throttle_mails(smtp) == []
    fail(client, 1)
    mail = mail_to(smtp, "carla@example.test", "Failed logins")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert ATTACKER in text
    assert "http://helpdesk.example.test/forgot-password" in text
    assert mail["Auto-Submitted"] == "auto-generated"

    let_time_pass(seconds=400)
    fail(client, 5)  # the same episode: still failing from there
    fail(client.application.test_client(), 7, ip="192.0.2.99")  # and from another address
    assert len(throttle_mails(smtp)) == 1


def test_a_new_episode_after_a_quiet_window_mails_again(client, smtp, carla):
    fail(client, 5)
    mail_to(smtp, "carla@example.test", "Failed logins")
    let_time_pass(minutes=16)
    fail(client, 5, ip="192.0.2.99")
    assert len(throttle_mails(smtp, "carla@example.test")) == 2


def test_the_mail_is_in_the_owners_language(client, smtp, carla):
    accounts.update_profile(carla, carla, locale="de")
    fail(client, 5)
    mail = mail_to(smtp, "carla@example.test", "")
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert 'lang="de"' in html
    assert ATTACKER in html


def test_the_mail_goes_through_the_outbox(client, smtp, carla):
    from helpdesk.notify.models import OutboxEmail

    fail(client, 5)
    mail_to(smtp, "carla@example.test", "Failed logins")
    db.session.rollback()
    (row,) = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.recipient == "carla@example.test")).all()
    assert "Failed logins" in row.subject


def test_nobody_is_mailed_for_unknown_logins_or_records_without_a_password(client, smtp):
    accounts.find_or_create_customer("walk-in@example.test")
    db.session.commit()
    fail(client, 6, login="walk-in@example.test")
    fail(client, 6, login="nobody@example.test")
    assert smtp.wait_for(1, timeout=0.5) == []


def test_a_deactivated_owner_is_not_mailed(client, smtp, carla):
    carla.active = False
    db.session.commit()
    fail(client, 6)
    assert throttle_mails(smtp) == []


def test_by_default_the_wait_is_one_two_four_seconds_and_so_on_up_to_five_minutes(app_factory):
    from helpdesk.accounts import throttle

    with app_factory().app_context():
        waits = [throttle.delay_after(n) for n in (*range(1, 16), 10_000)]
    assert waits[:4] == [None] * 4
    assert [w.total_seconds() for w in waits[4:]] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
