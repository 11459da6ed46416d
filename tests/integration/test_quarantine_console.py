"""The staff console's mail quarantine: agents see what the gateway could not place, with the reason,
download the original, retry it, or open a ticket from it; customers never reach it."""
import pytest
import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.models import QUARANTINED, InboundMessage
from helpdesk.tickets.models import Ticket
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


NO_SENDER = b"To: support@example.test\r\nSubject: Who am I\r\nMessage-ID: <nosender@example.test>\r\n\r\nHelp!\r\n"
GARBAGE = b"\x00\x01\xfe\xff not mail at all"


def _quarantine(raw):
    [outcome] = pipeline.ingest([pipeline.Fetched("file", raw, label="test.eml")])
    assert outcome.outcome == "quarantined"
    return outcome.inbound_id


def test_agent_sees_quarantined_mail_with_its_reason(client, agent):
    _quarantine(NO_SENDER)
    _quarantine(GARBAGE)
    log_in(client, agent.email)
    page = client.get("/agent/quarantine").get_data(as_text=True)
    assert "Who am I" in page
    assert "no sender address" in page
    assert "Not a readable email" in page


def test_original_is_downloaded_as_an_opaque_attachment(client, agent):
    inbound_id = _quarantine(GARBAGE)
    log_in(client, agent.email)
    response = client.get(f"/agent/quarantine/{inbound_id}/raw")
    assert response.status_code == 200
    assert response.data == GARBAGE
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_retry_of_a_still_broken_message_keeps_it_and_says_why(client, agent):
    inbound_id = _quarantine(NO_SENDER)
    log_in(client, agent.email)
    page = client.get("/agent/quarantine").get_data(as_text=True)
    response = client.post(f"/agent/quarantine/{inbound_id}/retry", data={"csrf_token": csrf_token(page)},
                           follow_redirects=True)
    assert "still in quarantine" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(InboundMessage, inbound_id).status == QUARANTINED


def test_agent_opens_a_ticket_from_a_message_without_sender(client, agent, smtp):
    inbound_id = _quarantine(NO_SENDER)
    log_in(client, agent.email)
    page = client.get("/agent/quarantine").get_data(as_text=True)
    response = client.post(f"/agent/quarantine/{inbound_id}/ticket", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "requester_email": "found@example.test", "subject": ""})
    body = response.get_data(as_text=True)
    assert "opened from the message" in body
    db.session.rollback()  # see what the request committed (SQLite keeps a snapshot per transaction)
    ticket = db.session.scalar(sa.select(Ticket))
    assert ticket.subject == "Who am I" and ticket.requester.email == "found@example.test"
    assert "Help!" in ticket.messages[0].body_text
    assert "The quarantine is empty." in client.get("/agent/quarantine").get_data(as_text=True)


def test_unreadable_message_still_becomes_a_ticket_by_hand(client, agent, smtp):
    inbound_id = _quarantine(GARBAGE)
    log_in(client, agent.email)
    page = client.get("/agent/quarantine").get_data(as_text=True)
    client.post(f"/agent/quarantine/{inbound_id}/ticket", data={
        "csrf_token": csrf_token(page), "requester_email": "someone@example.test", "subject": "Garbled mail"})
    db.session.rollback()  # see what the request committed (SQLite keeps a snapshot per transaction)
    ticket = db.session.scalar(sa.select(Ticket))
    assert ticket is not None and ticket.subject == "Garbled mail"
    assert "not mail at all" in ticket.messages[0].body_text
    assert "\x00" not in ticket.messages[0].body_text  # PostgreSQL refuses NUL in text


def test_bad_requester_address_is_refused_and_the_message_stays(client, agent):
    inbound_id = _quarantine(NO_SENDER)
    log_in(client, agent.email)
    page = client.get("/agent/quarantine").get_data(as_text=True)
    response = client.post(f"/agent/quarantine/{inbound_id}/ticket", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "requester_email": "not an address"})
    assert "valid email address" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(InboundMessage, inbound_id).status == QUARANTINED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_customers_never_reach_the_quarantine(client, customer):
    inbound_id = _quarantine(GARBAGE)
    log_in(client, customer.email)
    assert client.get("/agent/quarantine").status_code == 404
    assert client.get(f"/agent/quarantine/{inbound_id}/raw").status_code == 404


def test_actions_need_a_csrf_token(client, agent):
    inbound_id = _quarantine(NO_SENDER)
    log_in(client, agent.email)
    assert client.post(f"/agent/quarantine/{inbound_id}/retry").status_code == 400
    assert client.post(f"/agent/quarantine/{inbound_id}/ticket",
                       data={"requester_email": "x@example.test"}).status_code in (302, 400)
    db.session.expire_all()
    assert db.session.get(InboundMessage, inbound_id).status == QUARANTINED


def test_reason_and_step_are_shown_in_the_agents_language(client, agent):
    from flask_babel import force_locale

    from helpdesk.mailgateway.reasons import describe, step_label

    _quarantine(NO_SENDER)
    log_in(client, agent.email)
    page = client.get("/agent/quarantine", headers={"Accept-Language": "de"}).get_data(as_text=True)
    with force_locale("de"):
        german_reason, german_step = describe("no_sender"), step_label("classify")
    assert german_reason != describe("no_sender")  # really translated, not the English text again
    assert german_reason in page and german_step in page
