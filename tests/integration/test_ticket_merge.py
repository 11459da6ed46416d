"""Merging a ticket into another on both databases: what moves, the rules and their messages, email replies to the
merged ticket (signed token, subject tag, In-Reply-To, References) landing in the target, the customer's view of
a merged ticket and the workspace's merge form with its confirmation step."""
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.db import utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.pipeline import Fetched
from helpdesk.notify.models import OutboxEmail
from helpdesk.tickets import departments, service
from helpdesk.tickets.events import describe_event
from helpdesk.tickets.merge import merge_ticket
from helpdesk.tickets.models import CC, CLOSED, CUSTOMER_MESSAGE, OPEN, SYSTEM_EVENT, Attachment, Message, Ticket
from helpdesk.tickets.reply_matching import follow_merges, reply_address, ticket_by_number
from helpdesk.tickets.service import NewAttachment
from tests.conftest import csrf_token, log_in


def fresh(ticket):
    db.session.rollback()
    return db.session.get(Ticket, ticket.id)


def events(ticket):
    return [describe_event(m.event) for m in fresh(ticket).messages if m.kind == SYSTEM_EVENT]


@pytest.fixture
def source(customer, department):
    return service.open_ticket(customer, subject="Printer jams", body_text="The printer jams on page two.",
                               department=department.id, cc=["office@example.test"],
                               attachments=[NewAttachment("jam.txt", "text/plain", b"paper jam")],
                               acknowledge=False)


@pytest.fixture
def other_customer(make_user):
    return make_user("customer", email="olaf@example.test", full_name="Olaf Other")


@pytest.fixture
def target(other_customer, department):
    return service.open_ticket(other_customer, subject="Printer broken on floor 2",
                               body_text="The floor 2 printer is broken.", department=department.id,
                               acknowledge=False)


# --------------------------------------------------------------------------- the service

def test_merge_moves_messages_attachments_and_participants_to_the_target(agent, customer, source, target):
    service.add_agent_reply(agent, source, body_text="Which tray?")

    merge_ticket(agent, source, target)

    target, source = fresh(target), fresh(source)
    texts = [m.body_text for m in target.messages if m.kind != SYSTEM_EVENT]
    assert "The printer jams on page two." in texts
    assert any(t.startswith("Which tray?") for t in texts)
    attachment = db.session.scalar(sa.select(Attachment).where(Attachment.filename == "jam.txt"))
    assert attachment.ticket_id == target.id and attachment.message.ticket_id == target.id
    cc = {p.email for p in target.participants if p.role == CC}
    assert cc == {"carla@example.test", "office@example.test"}
    assert target.requester.email == "olaf@example.test"
    assert (source.status, source.merged_into_id) == (CLOSED, target.id)
    assert [m for m in source.messages if m.kind != SYSTEM_EVENT] == []


def test_merge_records_an_event_on_both_tickets(agent, source, target):
    merge_ticket(agent, source, target)

    assert f"Ticket #{source.number} (Printer jams) was merged into this ticket." in events(target)
    assert f"This ticket was merged into ticket #{target.number} (Printer broken on floor 2)." in events(source)


def test_merged_messages_keep_their_time_and_the_thread_reads_in_time_order(agent, customer, other_customer,
                                                                            source, target):
    early = fresh(source).messages[0]
    early.created_at = utcnow() - timedelta(days=2)  # the source was written first
    db.session.commit()

    merge_ticket(agent, source, target)

    thread = [m for m in fresh(target).messages if m.kind == CUSTOMER_MESSAGE]
    assert [m.body_text for m in thread] == ["The printer jams on page two.", "The floor 2 printer is broken."]
    assert thread[0].created_at < thread[1].created_at


def test_a_requester_on_both_tickets_does_not_become_a_copy_of_themselves(agent, customer, source, department):
    second = service.open_ticket(customer, subject="Also the scanner", body_text="Scanner too.",
                                 department=department.id, acknowledge=False)

    merge_ticket(agent, source, second)

    people = {(p.email, p.role) for p in fresh(second).participants}
    assert people == {("carla@example.test", "requester"), ("office@example.test", "cc")}


def test_a_ticket_cannot_be_merged_into_itself(agent, source):
    with pytest.raises(ValidationFailed) as caught:
        merge_ticket(agent, source, source)
    assert str(caught.value.errors["target"]) == "A ticket cannot be merged into itself."


def test_a_ticket_cannot_be_merged_into_a_merged_ticket(agent, customer, source, target, department):
    third = service.open_ticket(customer, subject="Third", body_text="Three.", department=department.id,
                                acknowledge=False)
    merge_ticket(agent, source, target)

    with pytest.raises(ValidationFailed) as caught:
        merge_ticket(agent, fresh(third), fresh(source))
    assert "was merged into another ticket; merge into that one instead" in str(caught.value.errors["target"])


def test_a_merged_ticket_cannot_be_merged_again(agent, customer, source, target, department):
    third = service.open_ticket(customer, subject="Third", body_text="Three.", department=department.id,
                                acknowledge=False)
    merge_ticket(agent, source, target)

    with pytest.raises(Conflict) as caught:
        merge_ticket(agent, fresh(source), third)
    assert "was already merged" in str(caught.value.message)


def test_customers_cannot_merge_tickets(customer, source, department):
    mine = service.open_ticket(customer, subject="Mine too", body_text="Mine.", department=department.id,
                               acknowledge=False)
    with pytest.raises(NotAllowed):
        merge_ticket(customer, source, mine)
    assert fresh(source).merged_into_id is None


def test_an_agent_cannot_merge_into_a_ticket_of_another_department(agent, customer, source):
    billing = departments.create_department(SYSTEM, name="Billing")
    elsewhere = service.open_ticket(customer, subject="Invoice", body_text="Wrong invoice.", department=billing.id,
                                    acknowledge=False)

    with pytest.raises(NotFound):
        merge_ticket(agent, source, elsewhere)
    assert fresh(source).merged_into_id is None


def test_following_merges_stops_at_a_loop(agent, source, target):
    source.merged_into_id, target.merged_into_id = target.id, source.id  # never made by merging; data gone wrong
    db.session.commit()

    assert follow_merges(fresh(source)) is not None
    assert ticket_by_number(source.number) in (fresh(source), fresh(target))


# --------------------------------------------------------------------------- email replies to a merged ticket

def deliver(message: EmailMessage):
    (outcome,) = pipeline.ingest([Fetched("file", message.as_bytes(), label="reply")])
    return outcome


def reply_mail(*, to="support@example.test", subject="Re: the printer", **headers):
    message = EmailMessage()
    message["From"] = "Carla Customer <carla@example.test>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.test")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("It jams again today.")
    return message


def landed_in(outcome, target):
    assert (outcome.outcome, outcome.ticket_number) == ("added", target.number)
    last = [m for m in fresh(target).messages if m.kind == CUSTOMER_MESSAGE][-1]
    assert last.body_text.startswith("It jams again today.")
    return True


def test_email_reply_to_the_merged_tickets_signed_address_lands_in_the_target(agent, source, target):
    merge_ticket(agent, source, target)

    outcome = deliver(reply_mail(to=reply_address("support@example.test", source.number)))

    assert landed_in(outcome, target)
    assert fresh(source).status == CLOSED


def test_email_reply_with_the_merged_tickets_subject_tag_lands_in_the_target(agent, source, target):
    merge_ticket(agent, source, target)

    outcome = deliver(reply_mail(subject=f"Re: [#{source.number}] Printer jams"))

    assert landed_in(outcome, target)


def test_email_reply_to_a_message_of_the_merged_ticket_lands_in_the_target(agent, source, target):
    original = fresh(source).messages[0].message_id
    merge_ticket(agent, source, target)

    outcome = deliver(reply_mail(In_Reply_To=original, References=original))

    assert landed_in(outcome, target)


def test_email_reply_to_mail_sent_about_the_merged_ticket_lands_in_the_target(agent, source, target):
    service.add_agent_reply(agent, source, body_text="Which tray?")
    sent = db.session.scalar(sa.select(OutboxEmail.message_id).where(OutboxEmail.ticket_id == source.id))
    merge_ticket(agent, fresh(source), fresh(target))

    outcome = deliver(reply_mail(References=sent))

    assert landed_in(outcome, target)
    assert fresh(target).status == OPEN


# --------------------------------------------------------------------------- the customer's view

def test_customer_sees_that_the_ticket_was_merged_with_a_link_to_the_target(client, agent, customer, source, target):
    merge_ticket(agent, source, target)
    log_in(client, "carla@example.test")

    page = client.get(f"/tickets/{source.number}").text

    assert f"This ticket was merged into ticket #{target.number}" in page
    assert f'href="/tickets/{target.number}"' in page
    assert 'action="/tickets/%d/reply"' % source.number not in page
    assert client.get(f"/tickets/{target.number}").status_code == 200


def test_a_colleague_who_may_not_see_the_target_is_told_of_the_merge_without_a_link(client, agent, make_user,
                                                                                    department):
    company = accounts.create_organisation(SYSTEM, name="Acme", share_tickets=True)
    colleague = make_user("customer", email="colleague@example.test", organisation=company)
    boss = make_user("customer", email="boss@acme.test", organisation=company)
    shared = service.open_ticket(boss, subject="Acme printer", body_text="Jams.", department=department.id,
                                 acknowledge=False)
    stranger = make_user("customer", email="stranger@example.test")
    private = service.open_ticket(stranger, subject="Private", body_text="Mine.", department=department.id,
                                  acknowledge=False)
    merge_ticket(agent, shared, private)
    assert colleague.organisation_id == company.id
    log_in(client, "colleague@example.test")

    page = client.get(f"/tickets/{shared.number}").text

    assert "This ticket was merged into another ticket." in page
    assert f'href="/tickets/{private.number}"' not in page


# --------------------------------------------------------------------------- the workspace

def test_workspace_merge_asks_for_confirmation_showing_both_subjects_then_merges(client, agent, source, target):
    log_in(client, "agent@example.test")
    page = client.get(f"/agent/tickets/{source.number}").text
    assert "Merge into ticket" in page

    confirm = client.post(f"/agent/tickets/{source.number}/merge",
                          data={"csrf_token": csrf_token(page), "target": str(target.number)})

    assert confirm.status_code == 200
    assert "Printer jams" in confirm.text and "Printer broken on floor 2" in confirm.text
    assert fresh(source).merged_into_id is None  # nothing happens before the agent confirms

    done = client.post(f"/agent/tickets/{source.number}/merge", data={
        "csrf_token": csrf_token(confirm.text), "target": str(target.number), "confirm": "yes"})

    assert done.status_code == 302 and done.headers["Location"].endswith(f"/agent/tickets/{target.number}")
    assert fresh(source).merged_into_id == target.id
    page = client.get(done.headers["Location"]).text
    assert f"Ticket #{source.number} was merged into this ticket." in page


def test_workspace_merge_into_an_unknown_ticket_says_so(client, agent, source):
    log_in(client, "agent@example.test")
    page = client.get(f"/agent/tickets/{source.number}").text

    answer = client.post(f"/agent/tickets/{source.number}/merge",
                         data={"csrf_token": csrf_token(page), "target": "999999"})

    assert answer.status_code == 400
    assert "There is no ticket #999999 you may change." in answer.text


def test_workspace_merge_into_itself_is_refused_beside_the_field(client, agent, source):
    log_in(client, "agent@example.test")
    page = client.get(f"/agent/tickets/{source.number}").text

    answer = client.post(f"/agent/tickets/{source.number}/merge", data={
        "csrf_token": csrf_token(page), "target": str(source.number), "confirm": "yes"})

    assert answer.status_code == 400
    assert "A ticket cannot be merged into itself." in answer.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)
                             .where(Message.ticket_id == source.id)) > 0
