"""Chats become tickets: an agent's conversion carries the transcript (never the notes) and the files, mails the
acknowledgement with the ticket's number and leaves both linked; a message left when nobody can chat follows the
portal's ticket form rules."""
import pytest

from helpdesk.actors import GUEST_FORM
from helpdesk.chat import service
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.tickets.events import describe_event
from helpdesk.tickets.models import CUSTOMER_MESSAGE, SYSTEM_EVENT


@pytest.fixture
def online(agent):
    service.set_availability(agent, "online")
    return agent


def test_a_guest_chat_becomes_a_ticket_with_its_transcript_and_files(app, smtp, online, department):
    chat, key = service.start_chat(GUEST_FORM, name="Gina Guest", email="gina@example.test",
                                   department=department, message="My website shows error 503")
    visitor = service.visitor_for_key(key)
    service.accept(online, chat)
    service.post_message(online, chat, body="Can you send a screenshot?")
    service.post_message(visitor, chat, body="Here it is", attachments=[("error.png", "image/png", b"\x89PNG 503")])
    service.add_note(online, chat, body="Probably the load balancer")

    ticket = service.convert_to_ticket(online, chat)

    assert (ticket.source, ticket.department_id, ticket.requester.email) == ("chat", department.id,
                                                                              "gina@example.test")
    assert ticket.subject == "My website shows error 503"
    first = ticket.messages[0]
    assert first.kind == CUSTOMER_MESSAGE
    for said in ("My website shows error 503", "Can you send a screenshot?", "Here it is", "Alex Agent",
                 "Gina Guest"):
        assert said in first.body_text
    assert "load balancer" not in first.body_text
    assert [(a.filename, a.size) for a in first.attachments] == [("error.png", 8)]
    events = [m.event for m in ticket.messages if m.kind == SYSTEM_EVENT]
    assert {"type": "from-chat", "chat": chat.id} in events
    assert describe_event({"type": "from-chat", "chat": chat.id}) == \
        f"This ticket was opened from live chat #{chat.id}."

    acknowledgement = smtp.wait_for(1)[0]
    assert acknowledgement["To"].addresses[0].addr_spec == "gina@example.test"
    assert str(ticket.number) in acknowledgement["Subject"]

    assert chat.status == "active" and chat.ticket_id == ticket.id
    assert service.chat_json(chat, for_agent=False)["ticket"] == {"id": ticket.id, "number": ticket.number}
    last = service.events_for(visitor, chat)[-1]
    assert last.data == {"type": "converted", "number": ticket.number}
    assert f"ticket #{ticket.number}" in service.event_json(last, for_agent=False)["body"]
    assert service.chat_for_ticket(ticket.id).id == chat.id

    with pytest.raises(Conflict):
        service.convert_to_ticket(online, chat)


def test_a_customers_chat_becomes_their_own_ticket(app, smtp, online, customer):
    chat, _key = service.start_chat(customer, message="Please renew my domain")
    service.accept(online, chat)
    ticket = service.convert_to_ticket(online, chat, subject="Domain renewal")
    assert (ticket.subject, ticket.requester_id, ticket.requester_unconfirmed) == ("Domain renewal", customer.id,
                                                                                    False)
    assert smtp.wait_for(1)[0]["To"].addresses[0].addr_spec == "carla@example.test"


def test_only_agents_convert_chats(app, online):
    chat, key = service.start_chat(GUEST_FORM, name="Gina Guest", email="gina@example.test", message="hi")
    with pytest.raises(NotAllowed):
        service.convert_to_ticket(service.visitor_for_key(key), chat)
    assert chat.ticket_id is None


def test_leaving_a_ticket_follows_the_guest_form_rules(app, smtp, department):
    with pytest.raises(ValidationFailed) as refused:
        service.leave_ticket(GUEST_FORM, name="Gina Guest", email="gina at example", subject="Help",
                             body="Nobody answered the chat", privacy=True)
    assert set(refused.value.errors) == {"email"}
    with pytest.raises(ValidationFailed) as refused:
        service.leave_ticket(GUEST_FORM, name="", email="gina@example.test", subject="", body="")
    assert set(refused.value.errors) == {"name", "subject", "body", "privacy"}

    ticket = service.leave_ticket(GUEST_FORM, name="Gina Guest", email="gina@example.test", subject="Help",
                                  body="Nobody answered the chat", department=department.id, privacy=True)
    assert ticket.requester.consent_policy_version == app.config["PRIVACY_POLICY_VERSION"]
    assert (ticket.source, ticket.subject, ticket.requester.full_name) == ("chat", "Help", "Gina Guest")
    assert ticket.messages[0].body_text == "Nobody answered the chat"
    mail = smtp.wait_for(1)[0]
    assert str(ticket.number) in mail["Subject"] and mail["To"].addresses[0].addr_spec == "gina@example.test"


def test_a_customer_leaves_a_ticket_as_themselves(app, smtp, customer):
    ticket = service.leave_ticket(customer, name="Not Me", email="else@example.test", subject="After hours",
                                  body="Call me tomorrow")
    assert (ticket.requester_id, ticket.source) == (customer.id, "chat")
    with pytest.raises(NotAllowed):
        service.leave_ticket(service.Visitor(service.start_chat(customer)[0]), subject="x", body="y")


def test_a_guest_chat_in_a_registered_customers_name_waits_for_their_confirmation(app, smtp, online, customer):
    chat, _key = service.start_chat(GUEST_FORM, name="Mallory", email="carla@example.test", message="Cancel it all")
    service.accept(online, chat)
    ticket = service.convert_to_ticket(online, chat)
    assert ticket.requester_id == customer.id and ticket.requester_unconfirmed is True
    assert smtp.wait_for(1)[0]["To"].addresses[0].addr_spec == "carla@example.test"
