"""Guest-form tickets given someone else's address (issue 12, class 5), on both databases with real SMTP: a ticket in
a registered customer's or agent's name stays out of their list and is not written by them until the address
owner confirms it by the link in the acknowledgement; agents see "Sender not confirmed"."""
import re
import time
from html import unescape

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import access, customers, requester_confirmation, service
from helpdesk.tickets.models import CUSTOMER_MESSAGE, SYSTEM_EVENT, Message, Ticket
from tests.conftest import csrf_token, log_in


def guest_form(**overrides):
    data = {"email": "gina@guest.example", "full_name": "Gina Guest", "company": "Guest GmbH",
            "subject": "Change my invoice address", "description": "Please send invoices to me instead.",
            "priority": "normal", "department": "", "problem_timezone": "Europe/Berlin", "privacy": "y"}
    data.update(overrides)
    return data


def submit(client, **overrides):
    data = {"csrf_token": csrf_token(client.get("/tickets/new").text), **guest_form(**overrides)}
    return client.post("/tickets/new", data=data, content_type="multipart/form-data", follow_redirects=True)


def latest_ticket():
    db.session.rollback()
    return db.session.scalars(sa.select(Ticket).order_by(Ticket.id.desc()).limit(1)).one()


def first_message(ticket):
    return next(m for m in ticket.messages if m.kind == CUSTOMER_MESSAGE)


def confirm_link_in(smtp, address):
    mails = [m for m in smtp.wait_for(1) if address in str(m["To"])]
    assert mails, f"no mail to {address}"
    match = re.search(r"https?://\S+(/tickets/confirm/[\w.\-]+)", mails[-1].get_body(("plain",)).get_content())
    return match.group(1) if match else None


def guest_open(email, **kwargs):
    return service.open_ticket(GUEST_FORM, subject="In your name", body_text="Please refund to IBAN X.",
                               requester_email=email, requester_name="Mallory", **kwargs)


@pytest.fixture
def acme():
    return accounts.create_organisation(SYSTEM, name="Acme Ltd", share_tickets=True)


# --------------------------------------------------------------------------- who is flagged

@pytest.mark.parametrize("typed", ["carla@example.test", "Carla@Example.TEST", " carla@example.test "])
def test_guest_ticket_with_a_customers_address_is_not_theirs(app, customer, typed):
    ticket = guest_open(typed)
    assert ticket.requester_unconfirmed is True and ticket.requester_id == customer.id
    message = first_message(ticket)
    assert message.author_id is None and message.author_name == "Mallory"
    assert not access.can_view(customer, ticket)
    assert ticket.id not in db.session.scalars(access.visible_tickets(customer).with_only_columns(Ticket.id)).all()


def test_guest_ticket_does_not_touch_the_owners_consent_record(app, customer):
    before = (customer.consent_at, customer.consent_policy_version)
    guest_open(customer.email, privacy_consent="2099-01")
    db.session.rollback()
    user = db.session.get(User, customer.id)
    assert (user.consent_at, user.consent_policy_version) == before


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_guest_ticket_with_a_staff_address_is_unconfirmed_and_not_written_by_them(app, make_user, role):
    staff = make_user(role, email=f"{role}-x@example.test")
    ticket = guest_open(staff.email)
    assert ticket.requester_unconfirmed is True
    assert first_message(ticket).author_id is None


def test_invited_agent_without_password_counts_as_registered(app, department):
    from helpdesk.accounts import staff

    invited = staff.create_staff(SYSTEM, email="newbie@example.test", full_name="New Bie", role="agent")
    assert guest_open(invited.email).requester_unconfirmed is True


def test_unregistered_address_keeps_the_guest_behaviour(app, smtp):
    ticket = guest_open("stranger@example.test")
    assert ticket.requester_unconfirmed is False
    assert first_message(ticket).author_id == ticket.requester_id
    assert confirm_link_in(smtp, "stranger@example.test") is None


def test_passwordless_customer_record_keeps_the_guest_behaviour(app):
    earlier = service.open_ticket(SYSTEM, subject="By mail", body_text="x", requester_email="walkin@example.test",
                                  acknowledge=False)
    assert guest_open("walkin@example.test").requester_unconfirmed is False
    assert earlier.requester_unconfirmed is False


def test_logged_in_customer_and_agents_open_confirmed_tickets(app, customer, agent):
    assert service.open_ticket(customer, subject="Mine", body_text="x").requester_unconfirmed is False
    assert service.open_ticket(agent, subject="For Carla", body_text="x",
                               requester_email=customer.email).requester_unconfirmed is False
    assert service.open_ticket(SYSTEM, subject="By the CLI", body_text="x",
                               requester_email=customer.email).requester_unconfirmed is False


def test_shared_organisation_colleague_does_not_see_it_either(app, make_user, acme):
    owner = make_user("customer", email="owner@example.test", organisation=acme)
    colleague = make_user("customer", email="colleague@example.test", organisation=acme)
    ticket = guest_open(owner.email)
    assert ticket.organisation_id is None
    assert not access.can_view(colleague, ticket)
    assert not db.session.scalars(access.visible_tickets(colleague)).all()


# --------------------------------------------------------------------------- the web form

def test_the_submitter_sees_the_same_answer_whether_or_not_the_address_is_registered(client, customer):
    registered = submit(client, email=customer.email)
    unregistered = submit(client, email="nobody-yet@example.test")
    assert registered.status_code == unregistered.status_code == 200

    def strip_number(text):  # and the CSRF token, which differs on every page
        return re.sub(r'value="[^"]*"', "", re.sub(r"#\d+", "#N", text))

    assert strip_number(registered.text) == strip_number(unregistered.text)


def test_unconfirmed_ticket_is_missing_from_the_customers_pages(client, customer):
    submit(client, email=customer.email)
    ticket = latest_ticket()
    log_in(client, customer.email)
    assert f"#{ticket.number}" not in client.get("/tickets").text
    assert ticket.subject not in client.get("/").text
    assert client.get(f"/tickets/{ticket.number}").status_code == 404


def test_agents_see_sender_not_confirmed_in_the_workspace_and_the_queue(client, agent, customer):
    submit(client, email=customer.email)
    ticket = latest_ticket()
    log_in(client, agent.email)
    assert "Sender not confirmed" in client.get(f"/agent/tickets/{ticket.number}").text
    assert "Sender not confirmed" in client.get("/agent/").text


def test_agents_see_no_badge_on_ordinary_tickets(client, agent, customer):
    ticket = service.open_ticket(customer, subject="Mine", body_text="x")
    log_in(client, agent.email)
    assert "Sender not confirmed" not in client.get(f"/agent/tickets/{ticket.number}").text


# --------------------------------------------------------------------------- the confirmation link

def test_owner_confirms_through_the_link_in_the_acknowledgement(client, smtp, customer):
    submit(client, email=customer.email)
    ticket = latest_ticket()
    link = confirm_link_in(smtp, customer.email)
    assert link

    page = client.get(link)  # what a mail scanner does: it changes nothing
    assert page.status_code == 200 and "Did you send this request?" in unescape(page.text)
    assert latest_ticket().requester_unconfirmed is True

    done = client.post(link, data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 200 and "Request confirmed" in done.text
    ticket = latest_ticket()
    assert ticket.requester_unconfirmed is False
    assert first_message(ticket).author_id == customer.id
    events = [m.event for m in ticket.messages if m.kind == SYSTEM_EVENT]
    assert {"type": "requester-confirmed"} in events

    log_in(client, customer.email)
    assert f"#{ticket.number}" in client.get("/tickets").text
    assert client.get(f"/tickets/{ticket.number}").status_code == 200


def test_the_link_works_once(client, smtp, customer):
    submit(client, email=customer.email)
    link = confirm_link_in(smtp, customer.email)
    token = csrf_token(client.get(link).text)
    client.post(link, data={"csrf_token": token})
    again = client.post(link, data={"csrf_token": token})
    assert again.status_code == 200
    ticket = latest_ticket()
    assert sum(1 for m in ticket.messages if m.kind == SYSTEM_EVENT) == 1
    assert requester_confirmation.confirm_requester(ticket) is False


def test_a_get_or_a_post_without_csrf_confirms_nothing(client, smtp, customer):
    submit(client, email=customer.email)
    link = confirm_link_in(smtp, customer.email)
    client.get(link)
    client.post(link, data={})
    assert latest_ticket().requester_unconfirmed is True


def test_confirmation_joins_the_owners_organisation(app, make_user, acme):
    owner = make_user("customer", email="owner@example.test", organisation=acme)
    ticket = guest_open(owner.email)
    assert requester_confirmation.confirm_requester(ticket) is True
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).organisation_id == acme.id


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.split(".", 1)[1],
    lambda t: "",
    lambda t: "x" * 300,
])
def test_a_tampered_link_is_refused(client, smtp, customer, mangle):
    submit(client, email=customer.email)
    link = confirm_link_in(smtp, customer.email)
    token = link.rsplit("/", 1)[1]
    response = client.get(f"/tickets/confirm/{mangle(token) or 'nothing'}")
    assert response.status_code == 404 and "This confirmation link is not valid" in response.text
    assert latest_ticket().requester_unconfirmed is True


def test_a_satisfaction_token_is_no_confirmation_token(client, customer):
    from helpdesk.tickets import satisfaction

    ticket = guest_open(customer.email)
    with client.application.test_request_context():
        other = satisfaction.rating_token(ticket, satisfaction.GOOD)
    assert client.get(f"/tickets/confirm/{other}").status_code == 404


def test_an_expired_link_gets_a_clear_page(client, customer, monkeypatch):
    ticket = guest_open(customer.email, acknowledge=False)
    days = client.application.config["REQUESTER_CONFIRM_LINK_DAYS"]
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - (days + 1) * 86400)
        with client.application.test_request_context():
            old = requester_confirmation.confirm_token(ticket)
    response = client.get(f"/tickets/confirm/{old}")
    assert response.status_code == 410 and "This confirmation link has expired" in response.text
    page = client.get("/tickets/new")
    client.post(f"/tickets/confirm/{old}", data={"csrf_token": csrf_token(page.text)})
    assert latest_ticket().requester_unconfirmed is True


def test_the_link_stops_working_when_an_agent_changes_the_requester(client, agent, customer, make_user):
    ticket = guest_open(customer.email, acknowledge=False)
    token = requester_confirmation.confirm_token(ticket)
    other = make_user("customer", email="other@example.test")
    customers.change_requester(agent, ticket, other)
    assert client.get(f"/tickets/confirm/{token}").status_code == 404


def test_only_the_owners_acknowledgement_carries_the_link(app, smtp, customer):
    ticket = guest_open(customer.email)
    service.add_participants(SYSTEM, ticket, ["boss@example.test"])
    assert confirm_link_in(smtp, customer.email)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)
                             .where(Message.ticket_id == ticket.id, Message.author_id == customer.id)) == 0
