"""Accounts staff create for device buyers (issue 19): the service (identity data checked, national IDs unique,
staff only, audited with the national ID masked), the set-your-password link (mailed, used once, expiring, a new one
ends the old), logging in by username, and the customer's read-only identity page with its correction request
(a ticket). Mail is read from the real SMTP test server and its links are followed."""
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from helpdesk.accounts import buyers, memberships
from helpdesk.accounts.identity_models import AccountIdentity, account_for_national_id, account_recipients
from helpdesk.accounts.models import PERMISSIONS, AccountToken, Membership, User
from helpdesk.actors import GUEST_FORM
from helpdesk.audit.models import AuditEvent
from helpdesk.db import utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from tests.conftest import csrf_token

BASE = "http://helpdesk.example.test"
NEW_PASSWORD = "a brand new secret 42"
NATIONAL_ID = "1234567008"  # check digit right
OTHER_ID = "1234567016"
BUYER = {"email": "reza@example.test", "username": "reza.k", "full_name": "Reza Karimi", "national_id": NATIONAL_ID,
         "phone": "+98 912 123 4567", "address": "Tehran, Valiasr St., No. 12", "operator": "Dr. Ahmadi",
         "locale": "fa"}


def fresh():
    db.session.rollback()


def mail_to(smtp, address, count=1, timeout=10.0):
    """The messages to ``address`` once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = smtp.to(address)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} mails to {address}: {[str(m['Subject']) for m in smtp.messages]}")


def link_in(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(re.escape(BASE) + r"(/set-password/[^\s<>\"]+)", text)
    assert match, text
    assert match.group(1) in message.get_body(preferencelist=("html",)).get_content()
    return match.group(1)


def visible(page):
    """A page's words as a reader sees them: tags gone, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))


def post_form(client, path, form_path=None, **fields):
    page = client.get(form_path or path)
    return client.post(path, data={"csrf_token": csrf_token(page.text), **fields})


def log_in(client, login, password=NEW_PASSWORD):
    return post_form(client, "/login", login=login, password=password)


@pytest.fixture
def staff(make_user):
    return make_user("agent", email="sara.agent@example.test", full_name="Sara Agent")


# --------------------------------------------------------------------------- the service

def test_staff_create_a_buyer_with_identity_data_and_the_link_is_mailed(app, staff, smtp):
    account = buyers.create_buyer_account(staff, **{**BUYER, "national_id": "۱۲۳۴۵۶۷۰۰۸"})  # Persian digits
    fresh()
    login = db.session.scalar(sa.select(User).where(User.email == "reza@example.test"))
    assert login.is_customer and login.username == "reza.k" and login.password_hash is None
    assert not login.is_active  # no password yet: cannot log in
    own = memberships.membership(login, account.id)
    assert own.is_owner and all(own.allows(p) for p in PERMISSIONS)
    identity = db.session.get(AccountIdentity, account.id)
    assert (identity.full_name, identity.national_id, identity.phone, identity.operator) == (
        "Reza Karimi", NATIONAL_ID, "+989121234567", "Dr. Ahmadi")
    assert account_for_national_id(NATIONAL_ID).id == account.id
    assert [r.phone for r in account_recipients(account.id)] == ["+989121234567"]

    message = mail_to(smtp, "reza@example.test")[0]
    assert link_in(message).startswith("/set-password/")
    assert "reza.k" in message.get_body(preferencelist=("plain",)).get_content()  # they log in with the username
    row = db.session.scalar(sa.select(AccountToken).where(AccountToken.user_id == login.id))
    assert row.purpose == "set-password"
    assert timedelta(days=6, hours=23) < row.expires_at - row.created_at <= timedelta(days=7)
    created = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "buyer-created"))
    assert created.actor_id == staff.id and created.changes["national_id"] == "******7008"
    assert NATIONAL_ID not in str(created.changes)


def test_every_field_error_at_once_and_duplicates_name_the_account(app, staff):
    first = buyers.create_buyer_account(staff, **BUYER)
    with pytest.raises(ValidationFailed) as excinfo:
        buyers.create_buyer_account(staff, email="not an address", username="has space", full_name="",
                                    national_id="1234567009", phone="12", address="", operator="", locale="xx")
    assert set(excinfo.value.errors) == {"email", "username", "full_name", "national_id", "phone", "locale"}
    assert "check digit" in str(excinfo.value.errors["national_id"])

    with pytest.raises(ValidationFailed) as excinfo:
        buyers.create_buyer_account(staff, **{**BUYER, "email": "other@example.test", "username": "REZA.K"})
    errors = {k: str(v) for k, v in excinfo.value.errors.items()}
    assert set(errors) == {"national_id", "username"}
    assert "Reza Karimi" in errors["national_id"] and f"#{first.id}" in errors["national_id"]
    with pytest.raises(ValidationFailed) as excinfo:
        buyers.create_buyer_account(staff, **{**BUYER, "username": "", "national_id": OTHER_ID})
    assert set(excinfo.value.errors) == {"email"}  # the login exists already
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountIdentity)) == 1


def test_only_staff_create_buyers_or_change_identity_data(app, customer):
    for actor in (customer, GUEST_FORM):
        with pytest.raises(NotAllowed):
            buyers.create_buyer_account(actor, **BUYER)
        with pytest.raises(NotAllowed):
            buyers.update_identity(actor, memberships.default_account_id(customer), full_name="X",
                                   national_id=NATIONAL_ID, phone="+989121234567")
    with pytest.raises(NotFound):
        buyers.buyer(customer, memberships.default_account_id(customer))


def test_identity_changes_are_audited_old_to_new_with_the_national_id_masked(app, staff):
    account = buyers.create_buyer_account(staff, **BUYER)
    buyers.update_identity(staff, account.id, full_name="Reza Karimi", national_id=OTHER_ID,
                           phone="+98 912 765 4321", address=BUYER["address"], operator="")
    fresh()
    row = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "identity-changed"))
    assert row.changes == {"national_id": ["******7008", "******7016"], "phone": ["+989121234567", "+989127654321"],
                           "operator": ["Dr. Ahmadi", ""]}
    assert db.session.get(AccountIdentity, account.id).national_id == OTHER_ID
    # An account entered without identity data gets its first.
    other = buyers.create_buyer_account(staff, **{**BUYER, "email": "b@example.test", "username": "",
                                                  "national_id": NATIONAL_ID})
    with pytest.raises(ValidationFailed) as excinfo:
        buyers.update_identity(staff, other.id, full_name="B", national_id=OTHER_ID, phone="+989121234567")
    assert "national_id" in excinfo.value.errors
    with pytest.raises(NotFound):
        buyers.update_identity(staff, 999999, full_name="B", national_id=OTHER_ID, phone="+989121234567")


def test_a_passwordless_customer_from_earlier_tickets_is_taken_over(app, staff, department):
    from helpdesk.tickets import service as tickets

    ticket = tickets.open_ticket(GUEST_FORM, subject="Printer", body_text="It jams", requester_email=BUYER["email"],
                                 requester_name="Reza")
    account = buyers.create_buyer_account(staff, **BUYER)
    fresh()
    assert db.session.get(Ticket, ticket.id).requester.email == BUYER["email"]
    assert memberships.owner_id(account.id) == db.session.get(Ticket, ticket.id).requester_id


# --------------------------------------------------------------------------- the link, the login, the pages

@pytest.mark.backends("postgresql")
def test_buyer_sets_the_password_once_logs_in_by_username_and_staff_resend_kills_the_old_link(
        client, staff, smtp):
    account = buyers.create_buyer_account(staff, **BUYER)
    first = link_in(mail_to(smtp, BUYER["email"])[0])
    resent = buyers.send_set_password_link(staff, account.id)
    assert resent.email == BUYER["email"]
    second = link_in(mail_to(smtp, BUYER["email"], 2)[1])
    assert first != second
    old = client.get(first)
    assert old.status_code == 410 and "ask our staff to send you a new one" in old.text

    page = client.get(second)
    assert page.status_code == 200 and "Choose your password" in page.text
    short = post_form(client, second, password="short", confirm="short")
    assert short.status_code == 400 and "Use at least" in short.text
    mismatch = post_form(client, second, password=NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert mismatch.status_code == 400 and "The two passwords are not the same." in mismatch.text
    done = post_form(client, second, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert done.status_code == 302
    assert "Reza Karimi" in client.get("/").text  # logged in afterwards
    assert client.get(second).status_code == 410  # used once
    fresh()
    with pytest.raises(Conflict):
        buyers.send_set_password_link(staff, account.id)

    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})
    assert log_in(client, "reza.k").status_code == 302
    assert "Reza Karimi" in client.get("/").text
    other = client.application.test_client()
    wrong = log_in(other, "reza.k", "not the password")
    assert wrong.status_code == 200 and "Email or password is not correct." in wrong.text


@pytest.mark.backends("postgresql")
def test_an_expired_link_gets_the_ask_staff_page(client, staff, smtp):
    buyers.create_buyer_account(staff, **BUYER)
    path = link_in(mail_to(smtp, BUYER["email"])[0])
    fresh()
    db.session.execute(sa.update(AccountToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    page = client.get(path)
    assert page.status_code == 410 and "ask our staff to send you a new one" in page.text
    posted = post_form(client, path, "/login", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert posted.status_code == 410
    fresh()
    assert db.session.scalar(sa.select(User.password_hash).where(User.email == BUYER["email"])) is None


@pytest.mark.backends("postgresql")
def test_console_creates_a_buyer_shows_and_changes_identity_and_resends(client, staff, smtp):
    log_in(client, staff.email, "correct horse battery")
    assert 'href="/agent/buyers/new"' in client.get("/agent/accounts/").text
    bad = post_form(client, "/agent/buyers/new", **{**BUYER, "national_id": "1234567009", "phone": "0912"})
    assert bad.status_code == 400
    assert "check digit is wrong" in bad.text and "Reza Karimi" in bad.text  # what was typed is kept
    created = post_form(client, "/agent/buyers/new", **BUYER)
    assert created.status_code == 302
    account_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    page = client.get(f"/agent/buyers/{account_id}").text
    assert "1234567008" in page and "+98 912 123 4567" in page and "Not chosen yet" in page
    raw = client.get(f"/agent/accounts/{account_id}").text
    assert f'href="/agent/buyers/{account_id}"' in raw
    account_page = visible(raw)
    assert "Created the buyer account Reza Karimi for reza@example.test (national ID ******7008)." in account_page
    assert "a link to choose a password" in account_page and "1234567008" not in account_page

    changed = post_form(client, f"/agent/buyers/{account_id}/identity", f"/agent/buyers/{account_id}",
                        full_name="Reza Karimi", national_id=OTHER_ID, phone="+989121234567",
                        address="Shiraz", operator="")
    assert changed.status_code == 302
    assert "Shiraz" in client.get(f"/agent/buyers/{account_id}").text
    assert "from “******7008” to “******7016”" in visible(client.get(f"/agent/accounts/{account_id}").text)
    resent = post_form(client, f"/agent/buyers/{account_id}/set-password-link", f"/agent/buyers/{account_id}")
    assert resent.status_code == 302
    assert len(mail_to(smtp, BUYER["email"], 2)) == 2


@pytest.mark.backends("postgresql")
def test_customers_cannot_reach_the_console_buyer_pages(client, customer, staff):
    account = buyers.create_buyer_account(staff, **BUYER)
    log_in(client, customer.email, "correct horse battery")
    assert client.get("/agent/buyers/new").status_code == 404
    assert client.get(f"/agent/buyers/{account.id}").status_code == 404
    token = csrf_token(client.get("/").text)
    assert client.post(f"/agent/buyers/{account.id}/identity", data={"csrf_token": token, "full_name": "X",
                                                                     "national_id": OTHER_ID,
                                                                     "phone": "+989121234567"}).status_code == 404
    fresh()
    assert db.session.get(AccountIdentity, account.id).national_id == NATIONAL_ID


@pytest.mark.backends("postgresql")
def test_the_buyer_reads_their_identity_and_asks_for_a_correction_by_ticket(client, staff, smtp, department):
    account = buyers.create_buyer_account(staff, **BUYER)
    path = link_in(mail_to(smtp, BUYER["email"])[0])
    post_form(client, path, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert 'href="/account/identity-data"' in client.get("/account").text
    page = client.get("/account/identity-data")
    assert page.status_code == 200
    for shown in ("Reza Karimi", NATIONAL_ID, "+98 912 123 4567", "Valiasr", "Dr. Ahmadi"):
        assert shown in page.text
    assert 'name="national_id"' not in page.text and 'name="full_name"' not in page.text  # read only

    empty = post_form(client, "/account/identity-data/correction", "/account/identity-data", text="")
    with force_locale("fa"):  # the buyer reads Persian
        said = gettext("Say what should be corrected.")
    assert said != "Say what should be corrected."
    assert empty.status_code == 400 and said in empty.text
    asked = post_form(client, "/account/identity-data/correction", "/account/identity-data",
                      subject="Please correct my identity data", text="My address is Valiasr St. No. 21.")
    assert asked.status_code == 302
    fresh()
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.customer_account_id == account.id))
    assert ticket.subject == "Please correct my identity data" and ticket.requester.email == BUYER["email"]
    assert "Valiasr St. No. 21" in client.get(asked.headers["Location"]).text
    assert db.session.get(AccountIdentity, account.id).address == BUYER["address"]  # unchanged until staff act


@pytest.mark.backends("postgresql")
def test_a_customer_never_reads_another_accounts_identity(client, staff, make_user, customer):
    theirs = buyers.create_buyer_account(staff, **BUYER)
    helper = make_user(email="helper@example.test")
    db.session.add(Membership(account_id=theirs.id, user_id=helper.id, can_tickets=True))
    db.session.commit()
    with pytest.raises(NotFound):
        buyers.identity_of(customer, theirs.id)
    with pytest.raises(NotAllowed):
        buyers.identity_of(helper, theirs.id)

    log_in(client, customer.email, "correct horse battery")
    token = csrf_token(client.get("/").text)
    client.post("/account/switch", data={"csrf_token": token, "account_id": theirs.id})  # not theirs: refused
    page = client.get("/account/identity-data")
    assert page.status_code == 200 and NATIONAL_ID not in page.text  # their own account, with no identity data
    other = client.application.test_client()
    log_in(other, helper.email, "correct horse battery")
    token = csrf_token(other.get("/").text)
    other.post("/account/switch", data={"csrf_token": token, "account_id": theirs.id})
    assert other.get("/account/identity-data").status_code == 403  # a member, not the owner
    assert other.post("/account/identity-data/correction",
                      data={"csrf_token": token, "text": "x"}).status_code == 403
