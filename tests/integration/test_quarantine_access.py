"""Who may handle which quarantined message: only messages still in quarantine can be downloaded, retried or opened
as a ticket, by agents who reach the department they were sent to (and any ticket behind them); admins handle all.
Anyone else gets 404 and nothing changes; a retry runs once, however often it is clicked."""
import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.errors import Conflict, NotFound
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline, quarantine
from helpdesk.mailgateway.models import PROCESSED, QUARANTINED, InboundMessage
from helpdesk.tickets import departments, service
from helpdesk.tickets.models import Message, Ticket
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


def _mail(to, *, sender=None, subject="Invoice twice", message_id="m1", body="Please help."):
    lines = [f"To: {to}", f"Subject: {subject}", f"Message-ID: <{message_id}@example.test>"]
    if sender:
        lines.insert(0, f"From: {sender}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


def _ingest(raw, mailbox="file"):
    [outcome] = pipeline.ingest([pipeline.Fetched(mailbox, raw, label="test.eml")])
    return outcome


def _quarantine(raw, mailbox="file"):
    outcome = _ingest(raw, mailbox)
    assert outcome.outcome == "quarantined"
    return outcome.inbound_id


@pytest.fixture
def billing(app):
    return departments.create_department(SYSTEM, name="Billing", inbound_address="billing@example.test",
                                         reply_from_address="billing@example.test")


@pytest.fixture
def bob(make_user, billing):
    """An agent of Billing only."""
    user = make_user("agent", email="bob@example.test", full_name="Bob Billing")
    departments.add_agent_to_department(SYSTEM, billing, user)
    return user


def _state(inbound_id):
    db.session.rollback()  # what the requests committed
    row = db.session.get(InboundMessage, inbound_id)
    tickets = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    messages = db.session.scalar(sa.select(sa.func.count()).select_from(Message))
    return row.status, row.attempts, row.outcome, row.ticket_id, tickets, messages


def _token(client):
    return csrf_token(client.get("/agent/quarantine").text)


def _every_action(client, inbound_id):
    """Status codes of the list entry, download, retry and open-ticket of one message."""
    token = _token(client)
    listed = f"/agent/quarantine/{inbound_id}/raw" in client.get("/agent/quarantine").text
    raw = client.get(f"/agent/quarantine/{inbound_id}/raw").status_code
    retry = client.post(f"/agent/quarantine/{inbound_id}/retry", data={"csrf_token": token}).status_code
    opened = client.post(f"/agent/quarantine/{inbound_id}/ticket", data={
        "csrf_token": token, "requester_email": "someone@example.test"}).status_code
    return listed, raw, retry, opened


# --------------------------------------------------------------------------- departments

def test_agent_of_another_department_gets_404_everywhere_and_nothing_changes(client, agent, bob, billing, smtp):
    inbound_id = _quarantine(_mail("billing@example.test"))
    before = _state(inbound_id)
    log_in(client, agent.email)  # Technical only

    assert _every_action(client, inbound_id) == (False, 404, 404, 404)
    assert _state(inbound_id) == before
    assert smtp.messages == []


@pytest.mark.parametrize("to", ["billing@example.test", "Billing <BILLING@example.test>",
                                "billing+orders@example.test", "someone@else.test, billing@example.test"])
def test_recipient_variants_still_name_the_department(client, agent, bob, billing, to):
    inbound_id = _quarantine(_mail(to))
    log_in(client, agent.email)

    assert client.get(f"/agent/quarantine/{inbound_id}/raw").status_code == 404


def test_cc_and_delivered_to_name_the_department_too(client, agent, bob, billing):
    raw = b"Delivered-To: billing@example.test\r\n" + _mail("list@example.test")
    inbound_id = _quarantine(raw)
    log_in(client, agent.email)

    assert client.get(f"/agent/quarantine/{inbound_id}/raw").status_code == 404


def test_agent_of_the_department_handles_its_mail(client, agent, bob, billing):
    raw = _mail("billing@example.test")
    inbound_id = _quarantine(raw)
    log_in(client, bob.email)

    page = client.get("/agent/quarantine").text
    assert f"/agent/quarantine/{inbound_id}/raw" in page
    response = client.get(f"/agent/quarantine/{inbound_id}/raw")
    assert response.status_code == 200 and response.data == raw


def test_the_list_shows_each_agent_only_their_departments_mail(client, agent, bob, billing):
    for_billing = _quarantine(_mail("billing@example.test", message_id="b"))
    for_support = _quarantine(_mail("support@example.test", message_id="s"))
    for_nobody = _quarantine(_mail("stranger@else.test", message_id="n"))
    log_in(client, agent.email)

    page = client.get("/agent/quarantine").text

    assert f"/agent/quarantine/{for_support}/raw" in page
    assert f"/agent/quarantine/{for_nobody}/raw" in page  # no department: every agent, like such tickets
    assert f"/agent/quarantine/{for_billing}/raw" not in page


def test_admins_and_agents_in_no_department_handle_every_message(client, make_user, bob, billing):
    inbound_id = _quarantine(_mail("billing@example.test"))
    for user in (make_user("admin", email="root@example.test"), make_user("agent", email="solo@example.test")):
        log_in(client, user.email)
        assert client.get(f"/agent/quarantine/{inbound_id}/raw").status_code == 200
        client.post("/logout", data={"csrf_token": _token(client)})


def test_mailbox_department_wins_over_the_address(app, client, agent, bob, billing):
    app.config["MAIL_MAILBOXES"] = [{"name": "drop", "type": "maildir", "path": "/nowhere", "department": "Billing"}]
    inbound_id = _quarantine(_mail("support@example.test"), mailbox="maildir:drop")
    log_in(client, agent.email)

    assert client.get(f"/agent/quarantine/{inbound_id}/raw").status_code == 404
    assert quarantine.raw_bytes(bob, inbound_id)


def test_a_message_held_for_a_ticket_of_another_department_stays_hidden(app, client, agent, bob, billing, smtp):
    app.config["MAIL_STRANGER_POLICY"] = "quarantine"
    ticket = service.open_ticket(SYSTEM, subject="Invoice", body_text="Hello", requester_email="grace@example.test",
                                 department=billing.id, acknowledge=False)
    # Sent to Technical's address, but threaded to Billing's ticket by its subject tag.
    inbound_id = _quarantine(_mail("support@example.test", sender="mallory@elsewhere.test",
                                   subject=f"Re: [#{ticket.number}] Invoice", message_id="stranger"))
    before = _state(inbound_id)
    log_in(client, agent.email)

    assert _every_action(client, inbound_id) == (False, 404, 404, 404)
    assert _state(inbound_id) == before


def test_customers_get_404_and_nothing_changes(client, customer, billing):
    inbound_id = _quarantine(_mail("billing@example.test"))
    before = _state(inbound_id)
    log_in(client, customer.email)

    token = csrf_token(client.get("/tickets").text)

    assert client.get(f"/agent/quarantine/{inbound_id}/raw").status_code == 404
    assert client.post(f"/agent/quarantine/{inbound_id}/retry", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/agent/quarantine/{inbound_id}/ticket", data={
        "csrf_token": token, "requester_email": "carla@example.test"}).status_code == 404
    assert _state(inbound_id) == before


def test_service_refuses_other_departments_as_not_found(agent, bob, billing):
    inbound_id = _quarantine(_mail("billing@example.test"))

    for call in (lambda: quarantine.raw_bytes(agent, inbound_id), lambda: quarantine.retry(agent, inbound_id),
                 lambda: quarantine.open_ticket_by_hand(agent, inbound_id, requester_email="x@example.test")):
        with pytest.raises(NotFound):
            call()


# --------------------------------------------------------------------------- only quarantined messages

def test_processed_mail_is_neither_downloaded_nor_run_again(client, agent, smtp):
    outcome = _ingest(_mail("support@example.test", sender="carla@example.test"))
    assert outcome.outcome == "new_ticket"
    smtp.wait_for(1)
    acknowledgements = len(smtp.messages)
    before = _state(outcome.inbound_id)
    log_in(client, agent.email)

    listed, raw, retry, opened = _every_action(client, outcome.inbound_id)

    assert (listed, raw) == (False, 409)
    assert retry == opened == 302  # back to the list, saying why
    page = client.get("/agent/quarantine").text
    assert "not in quarantine any more" in page
    assert _state(outcome.inbound_id) == before  # no second ticket, no second message
    assert len(smtp.messages) == acknowledgements  # no second acknowledgement


def test_processed_mail_of_another_department_is_not_found(client, agent, bob, billing):
    outcome = _ingest(_mail("billing@example.test", sender="carla@example.test"))
    assert outcome.outcome == "new_ticket"
    log_in(client, agent.email)

    assert client.get(f"/agent/quarantine/{outcome.inbound_id}/raw").status_code == 404


@pytest.mark.parametrize("inbound_id", [999_999, 2**31 - 1, 2**31, 2**63 - 1, 2**63])
def test_unknown_messages_are_not_found(client, agent, inbound_id):
    log_in(client, agent.email)

    assert client.get(f"/agent/quarantine/{inbound_id}/raw").status_code == 404
    assert client.post(f"/agent/quarantine/{inbound_id}/retry", data={"csrf_token": _token(client)}).status_code == 404


def test_a_retry_that_places_the_message_runs_once(monkeypatch, agent, smtp):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline.tickets, "open_ticket", broken)
        inbound_id = _quarantine(_mail("support@example.test", sender="carla@example.test"))

    outcome = quarantine.retry(agent, inbound_id)
    assert outcome.outcome == "new_ticket"
    for again in (lambda: quarantine.retry(agent, inbound_id),
                  lambda: quarantine.open_ticket_by_hand(agent, inbound_id, requester_email="x@example.test")):
        with pytest.raises(Conflict):
            again()

    status, attempts, _outcome, ticket_id, tickets, _messages = _state(inbound_id)
    assert (status, attempts, tickets) == (PROCESSED, 2, 1) and ticket_id is not None
    smtp.wait_for(1)
    assert len(smtp.messages) == 1  # one acknowledgement


def test_second_click_on_retry_says_it_was_done(client, agent, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline.tickets, "open_ticket", broken)
        inbound_id = _quarantine(_mail("support@example.test", sender="carla@example.test"))
    log_in(client, agent.email)
    token = _token(client)

    first = client.post(f"/agent/quarantine/{inbound_id}/retry", data={"csrf_token": token}, follow_redirects=True)
    second = client.post(f"/agent/quarantine/{inbound_id}/retry", data={"csrf_token": token}, follow_redirects=True)

    assert "Done: ticket #" in first.text
    assert "not in quarantine any more" in second.text
    assert _state(inbound_id)[4] == 1


def test_cli_retry_refuses_a_processed_message(app, agent, smtp):
    from click.testing import CliRunner

    from helpdesk.cli import main

    outcome = _ingest(_mail("support@example.test", sender="carla@example.test"))
    db.session.commit()
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_SMTP_HOST": "127.0.0.1", "HELPDESK_SMTP_PORT": str(smtp.port), "HELPDESK_REDIS_URL": "",
           "HELPDESK_CONFIG": None}

    result = CliRunner().invoke(main, ["mail", "retry", str(outcome.inbound_id)], env=env)

    assert result.exit_code != 0
    assert "not in quarantine" in result.output
    assert _state(outcome.inbound_id)[:2] == (PROCESSED, 1)
    assert _state(outcome.inbound_id)[4] == 1


def test_still_quarantined_after_a_failed_retry_can_be_retried_again(agent):
    inbound_id = _quarantine(_mail("support@example.test"))  # no sender: stays quarantined

    assert quarantine.retry(agent, inbound_id).outcome == "quarantined"
    assert quarantine.retry(agent, inbound_id).outcome == "quarantined"
    assert _state(inbound_id)[:2] == (QUARANTINED, 3)
