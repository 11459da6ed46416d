"""Who else is looking, on both databases: the heartbeat endpoint (called by the workspace as soon as it has loaded;
the page itself writes nothing) records an agent, the other agents are told ("… is also looking", "… is replying")
until the entry is 45 seconds old, and a reply written while the customer wrote again is held back with the new
message shown."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.db import utcnow
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from helpdesk.tickets import departments, presence, service
from helpdesk.tickets.models import AGENT_REPLY, Message
from helpdesk.tickets.presence import TicketPresence
from tests.conftest import csrf_token, log_in


@pytest.fixture
def ticket(customer, department):
    return service.open_ticket(customer, subject="Mail does not arrive", body_text="No mail since Monday.",
                               department=department.id, acknowledge=False)


@pytest.fixture
def anna(make_user, department):
    user = make_user("agent", email="anna@example.test", full_name="Anna Agent")
    departments.add_agent_to_department(SYSTEM, department, user)
    return user


@pytest.fixture
def second_client(app):
    return app.test_client()


def workspace(ticket):
    return f"/agent/tickets/{ticket.number}"


def heartbeat(client, ticket, activity, token=None):
    token = token or csrf_token(client.get(workspace(ticket)).text)
    return client.post(f"{workspace(ticket)}/presence", json={"activity": activity},
                       headers={"X-CSRFToken": token})


def age_presence(seconds):
    db.session.rollback()
    db.session.execute(sa.update(TicketPresence).values(seen_at=utcnow() - timedelta(seconds=seconds)))
    db.session.commit()


def test_an_agent_opening_the_ticket_is_shown_to_the_next_agent(client, second_client, agent, anna, ticket):
    log_in(client, "anna@example.test")
    heartbeat(client, ticket, "viewing")  # what presence.js sends once the page has loaded
    log_in(second_client, "agent@example.test")

    page = second_client.get(workspace(ticket)).text

    assert "Anna Agent is also looking at this ticket" in page
    assert "Alex Agent is also looking" not in page  # never oneself


def test_heartbeat_says_who_is_replying(client, second_client, agent, anna, ticket):
    log_in(client, "anna@example.test")
    log_in(second_client, "agent@example.test")
    token = csrf_token(second_client.get(workspace(ticket)).text)

    assert heartbeat(client, ticket, "replying").status_code == 200
    answer = heartbeat(second_client, ticket, "viewing", token)

    assert answer.status_code == 200
    assert answer.json["notices"] == ["Anna Agent is replying"]


def test_an_agent_silent_for_45_seconds_counts_as_gone(client, second_client, agent, anna, ticket):
    log_in(client, "anna@example.test")
    heartbeat(client, ticket, "viewing")
    age_presence(46)
    log_in(second_client, "agent@example.test")

    assert "Anna Agent is also looking" not in second_client.get(workspace(ticket)).text


def test_heartbeat_without_the_csrf_header_is_refused(client, agent, ticket):
    log_in(client, "agent@example.test")
    client.get(workspace(ticket))

    answer = client.post(f"{workspace(ticket)}/presence", json={"activity": "viewing"})

    assert answer.status_code == 400


def test_heartbeat_with_an_unknown_activity_is_answered_with_a_message(client, agent, ticket):
    log_in(client, "agent@example.test")

    answer = heartbeat(client, ticket, "dancing")

    assert answer.status_code == 400
    assert answer.json["errors"]["activity"] == "Unknown activity."


def test_customers_and_agents_of_other_departments_are_not_recorded(customer, make_user, ticket):
    billing = departments.create_department(SYSTEM, name="Billing")
    outsider = make_user("agent", email="outsider@example.test")
    departments.add_agent_to_department(SYSTEM, billing, outsider)

    with pytest.raises(NotAllowed):
        presence.record_presence(customer, ticket)
    with pytest.raises(NotFound):
        presence.record_presence(outsider, ticket)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketPresence)) == 0


def test_the_same_agent_in_two_tabs_is_one_entry(agent, ticket):
    presence.record_presence(agent, ticket)
    presence.record_presence(agent, ticket, presence.REPLYING)

    rows = db.session.execute(sa.select(TicketPresence.activity)).scalars().all()
    assert rows == ["replying"]


# --------------------------------------------------------------------------- a reply to a conversation that moved on

def reply_data(page, body):
    seen = re.search(r'<input[^>]*name="seen_up_to"[^>]*value="(\d+)"', page)
    return {"csrf_token": csrf_token(page), "body": body, "reply_status": "answered", "seen_up_to": seen.group(1)}


def agent_replies(ticket):
    db.session.rollback()
    return db.session.scalars(sa.select(Message.body_text).where(Message.ticket_id == ticket.id,
                                                                 Message.kind == AGENT_REPLY)).all()


def test_a_reply_written_while_the_customer_wrote_again_is_held_back_until_sent_anyway(client, agent, customer,
                                                                                       ticket):
    log_in(client, "agent@example.test")
    page = client.get(workspace(ticket)).text
    db.session.rollback()  # end the snapshot: the request committed in its own session
    service.add_customer_message(customer, ticket, body_text="Never mind, it works again!")

    held = client.post(f"{workspace(ticket)}/reply", data=reply_data(page, "Please restart the router."))

    assert held.status_code == 409
    assert "New messages arrived while you were writing." in held.text
    assert "Never mind, it works again!" in held.text
    assert "Send anyway" in held.text
    assert "Please restart the router." in held.text  # what the agent wrote is kept
    assert agent_replies(ticket) == []

    sent = client.post(f"{workspace(ticket)}/reply", data=reply_data(held.text, "Glad to hear it."))

    assert sent.status_code == 302
    assert [body.split("\n")[0] for body in agent_replies(ticket)] == ["Glad to hear it."]


def test_a_reply_by_another_agent_since_the_page_was_opened_also_holds_it_back(client, agent, anna, ticket):
    log_in(client, "agent@example.test")
    page = client.get(workspace(ticket)).text
    db.session.rollback()  # end the snapshot: the request committed in its own session
    service.add_agent_reply(anna, ticket, body_text="I am on it.")

    held = client.post(f"{workspace(ticket)}/reply", data=reply_data(page, "Please restart the router."))

    assert held.status_code == 409
    assert "I am on it." in held.text


def test_a_reply_to_an_unchanged_conversation_is_sent_at_once(client, agent, ticket):
    log_in(client, "agent@example.test")
    page = client.get(workspace(ticket)).text
    db.session.rollback()  # end the snapshot: the request committed in its own session
    service.add_internal_note(agent, ticket, body_text="Checked the logs.")  # notes are not news to the customer

    sent = client.post(f"{workspace(ticket)}/reply", data=reply_data(page, "Please restart the router."))

    assert sent.status_code == 302
    assert len(agent_replies(ticket)) == 1
