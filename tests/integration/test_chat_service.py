"""The live chat's operations on the real database: a guest's chat from the first message to its end, who may read
and write what (a visitor key reaches only its chat, notes never reach the visitor), agents' limits and
availability, transfers, chat hours from a named SLA calendar, read marks, search, files and the transcript mail."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.chat import hub, service
from helpdesk.chat.models import ACTIVE, ENDED, WAITING, ChatAgent, ChatEvent
from helpdesk.db import utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import departments
from helpdesk.tickets.satisfaction import GOOD
from tests.chat_client import calendar_closed_now


def guest_chat(message="Hello, my server is down", name="Gina Guest", email="gina@example.test", **kwargs):
    chat, key = service.start_chat(GUEST_FORM, name=name, email=email, message=message, **kwargs)
    return chat, service.visitor_for_key(key)


def bodies(events):
    return [e.body for e in events]


@pytest.fixture
def online(agent):
    service.set_availability(agent, "online")
    return agent


@pytest.fixture
def other_agent(make_user, department):
    user = make_user("agent", email="bo@example.test", full_name="Bo Agent")
    departments.add_agent_to_department(SYSTEM, department, user)
    return user


def test_a_guest_chat_waits_is_accepted_and_both_sides_talk(app, online, department):
    chat, visitor = guest_chat(department=department.id, origin="https://shop.example/cart")
    assert chat.status == WAITING and visitor.chat.id == chat.id
    assert [c.id for c in service.waiting_chats(online)] == [chat.id]

    service.accept(online, chat)
    assert (chat.status, chat.agent_id) == (ACTIVE, online.id)
    assert service.waiting_chats(online) == [] and [c.id for c in service.my_chats(online)] == [chat.id]
    service.post_message(online, chat, body="Let me look at it.")
    service.post_message(visitor, chat, body="Thanks!")

    seen = [service.event_json(e, for_agent=False) for e in service.events_for(visitor, chat)]
    assert [(e["side"], e["body"]) for e in seen] == [
        ("customer", "Hello, my server is down"), ("system", "Alex Agent joined the chat."),
        ("agent", "Let me look at it."), ("customer", "Thanks!")]
    shown = service.chat_json(chat, for_agent=False)
    assert shown["agent"] == "Alex Agent" and shown["department"]["name"] == "Technical" and "email" not in shown
    assert service.chat_json(chat, for_agent=True)["email"] == "gina@example.test"
    assert chat.origin == "https://shop.example/cart"


def test_a_guest_must_give_a_name_and_an_address_we_can_mail(app):
    with pytest.raises(ValidationFailed) as refused:
        service.start_chat(GUEST_FORM, name=" ", email="not an address")
    assert set(refused.value.errors) == {"name", "email"}


def test_a_customer_chats_under_their_account(app, customer):
    chat, key = service.start_chat(customer, name="Someone Else", email="else@example.test")
    assert (chat.name, chat.email, chat.customer_id) == ("Carla Customer", "carla@example.test", customer.id)
    assert service.visitor_for_key(key).user.id == customer.id
    assert service.get_chat(customer, chat.id).id == chat.id


def test_a_visitor_key_reaches_only_its_own_chat(app, agent, customer):
    mine, me = guest_chat()
    theirs, _them = guest_chat(name="Hal Other", email="hal@example.test", message="secret plans")
    for attempt in (lambda: service.get_chat(me, theirs.id), lambda: service.events_for(me, theirs),
                    lambda: service.post_message(me, theirs, body="hi"), lambda: service.end_chat(me, theirs),
                    lambda: service.mark_read(me, theirs, 10), lambda: service.send_transcript(me, theirs),
                    lambda: service.get_chat(customer, theirs.id)):
        with pytest.raises(NotFound):
            attempt()
    with pytest.raises(NotFound):
        service.visitor_for_key("x" * 32)
    assert "secret plans" not in bodies(service.events_for(me, mine))
    assert service.get_chat(agent, theirs.id).id == theirs.id  # agents read every chat


def test_notes_never_reach_the_visitor(app, online):
    chat, visitor = guest_chat()
    service.accept(online, chat)
    note = service.add_note(online, chat, body="Customer owes us money")
    assert "Customer owes us money" not in bodies(service.events_for(visitor, chat))
    assert "Customer owes us money" in bodies(service.events_for(online, chat))
    assert service.events_for(visitor, chat, after_id=note.id - 1) == []


def test_only_the_agent_who_has_the_chat_writes_in_it(app, online, other_agent):
    chat, visitor = guest_chat()
    with pytest.raises(NotAllowed):
        service.post_message(online, chat, body="not yet mine")
    service.accept(online, chat)
    with pytest.raises(NotAllowed):
        service.post_message(other_agent, chat, body="butting in")
    with pytest.raises(ValidationFailed) as refused:
        service.post_message(visitor, chat, body="   ")
    assert "body" in refused.value.errors
    service.end_chat(visitor, chat)
    with pytest.raises(Conflict):
        service.post_message(online, chat, body="too late")


def test_two_agents_cannot_take_the_same_chat(app, online, other_agent):
    chat, _visitor = guest_chat()
    service.accept(online, chat)
    with pytest.raises(Conflict):
        service.accept(other_agent, chat)
    assert chat.agent_id == online.id


def test_an_agent_takes_no_more_chats_than_their_limit(app, online):
    app.config["CHAT_MAX_PER_AGENT"] = 1
    first, _v1 = guest_chat()
    second, _v2 = guest_chat(email="second@example.test")
    service.accept(online, first)
    with pytest.raises(NotAllowed):
        service.accept(online, second)
    assert second.status == WAITING
    db.session.get(ChatAgent, online.id).max_chats = 2  # the agent's own limit wins over the desk's
    db.session.commit()
    service.accept(online, second)
    assert second.agent_id == online.id


def test_an_online_agent_not_seen_for_a_while_counts_as_away(app, agent, department):
    assert service.availability_of(agent) == "offline"
    service.set_availability(agent, "online")
    assert service.availability_of(agent) == "online"
    assert service.desk_status()["agents_online"] == 1
    assert service.desk_status(department)["agents_online"] == 1
    row = db.session.get(ChatAgent, agent.id)
    row.seen_at = utcnow() - timedelta(seconds=app.config["CHAT_AGENT_TIMEOUT_SECONDS"] + 5)
    db.session.commit()
    assert service.availability_of(agent) == "away"
    assert service.desk_status()["agents_online"] == 0
    service.ping(agent)
    assert service.availability_of(agent) == "online"
    with pytest.raises(ValidationFailed):
        service.set_availability(agent, "asleep")


def test_a_chat_passes_to_an_online_agent_with_room_or_back_to_a_department(app, online, other_agent, department):
    chat, visitor = guest_chat()
    service.accept(online, chat)
    with pytest.raises(ValidationFailed) as refused:
        service.transfer(online, chat, to_agent=other_agent.id)
    assert "not online" in str(refused.value.errors["to_agent"])
    service.set_availability(other_agent, "online")
    db.session.get(ChatAgent, other_agent.id).max_chats = 0
    db.session.commit()
    with pytest.raises(ValidationFailed):
        service.transfer(online, chat, to_agent=other_agent.id)
    db.session.get(ChatAgent, other_agent.id).max_chats = None
    db.session.commit()

    service.transfer(online, chat, to_agent=other_agent.id)
    assert (chat.status, chat.agent_id) == (ACTIVE, other_agent.id)
    with pytest.raises(NotAllowed):  # no longer the one who has it
        service.transfer(online, chat, to_department=department.id)
    service.transfer(other_agent, chat, to_department=department.id)
    assert (chat.status, chat.agent_id, chat.department_id) == (WAITING, None, department.id)
    said = [e["body"] for e in map(lambda e: service.event_json(e, False), service.events_for(visitor, chat))]
    assert "The chat was passed to Bo Agent." in said
    assert "The chat was passed to Technical. Please wait for an agent." in said


def test_chat_hours_follow_the_named_sla_calendar(app, make_user):
    from helpdesk.tickets.sla import calendar_admin

    admin = make_user("admin")
    assert service.desk_status()["open"] is True  # no calendar named: around the clock
    calendar_closed_now(admin, "Chat hours")
    app.config["CHAT_CALENDAR"] = "Chat hours"
    status = service.desk_status()
    assert status == {"open": False, "agents_online": 0,
                      "offer_ticket_after": app.config["CHAT_OFFER_TICKET_AFTER_SECONDS"]}
    with pytest.raises(Conflict):
        guest_chat()
    calendar_admin.create_calendar(admin, name="Always", around_the_clock=True)
    app.config["CHAT_CALENDAR"] = "Always"
    assert service.desk_status()["open"] is True
    assert guest_chat()[0].status == WAITING


def test_ending_twice_changes_nothing_and_only_an_ended_chat_is_rated(app, online):
    chat, visitor = guest_chat()
    service.accept(online, chat)
    with pytest.raises(Conflict):
        service.rate(visitor, chat, GOOD)
    service.end_chat(online, chat)
    ended_at = chat.ended_at
    service.end_chat(visitor, chat)
    assert (chat.status, chat.ended_by, chat.ended_at) == (ENDED, "agent", ended_at)
    ends = [e for e in service.events_for(online, chat) if (e.data or {}).get("type") == "ended"]
    assert len(ends) == 1
    service.rate(visitor, chat, GOOD, "Quick and kind")
    assert (chat.rating, chat.rating_comment) == ("good", "Quick and kind")
    assert service.chat_json(chat, for_agent=True)["rating"] == "good"


def test_read_marks_never_move_backwards(app, online):
    chat, visitor = guest_chat()
    service.accept(online, chat)
    reply = service.post_message(online, chat, body="Hi")
    assert service.mark_read(visitor, chat, reply.id) == reply.id
    assert service.mark_read(visitor, chat, reply.id - 1) == reply.id
    assert service.mark_read(visitor, chat, reply.id + 100) == reply.id  # not past the last event
    assert service.mark_read(online, chat, reply.id) == reply.id
    assert (chat.customer_read_upto, chat.agent_read_upto) == (reply.id, reply.id)


def test_search_finds_a_chat_by_a_word_of_a_message(app, online):
    wanted, _v = guest_chat(message="The invoice 4711 is wrong")
    guest_chat(name="Other Person", email="other@example.test", message="Password reset please")
    assert [c.id for c in service.search_chats(online, "invoice")] == [wanted.id]
    assert [c.id for c in service.search_chats(online, "INVOICE 4711")] == [wanted.id]
    assert [c.id for c in service.search_chats(online, "gina@example")] == [wanted.id]
    assert service.search_chats(online, "100%") == []
    assert service.search_chats(online, "") == []


def test_files_are_stored_and_programs_refused(app, online):
    chat, visitor = guest_chat()
    event = service.post_message(visitor, chat, attachments=[("screen.png", "image/png", b"\x89PNG fake")])
    shown = service.event_json(event, for_agent=True)["attachments"]
    assert [(a["filename"], a["size"], a["content_type"]) for a in shown] == [("screen.png", 9, "image/png")]
    with pytest.raises(ValidationFailed) as refused:
        service.post_message(visitor, chat, attachments=[("run.exe", "application/octet-stream", b"MZ...")])
    assert "programs and scripts" in str(refused.value.errors["attachments"])


def test_a_message_reaches_open_streams_only_after_its_commit(app, online):
    chat, visitor = guest_chat()
    with hub.subscribe([hub.chat_channel(chat.id), hub.DESK]) as stream:
        event = service.post_message(visitor, chat, body="Anyone there?")
        assert {"type": "event", "chat": chat.id, "id": event.id} in stream.get(1.0)
        service.accept(online, chat)
        got = stream.get(1.0) + stream.get(0.2)
        assert {"type": "desk"} in got and {"type": "status", "chat": chat.id, "status": "active"} in got
        service.typing(visitor, chat)  # nothing to commit: told at once
        assert stream.get(1.0) == [{"type": "typing", "chat": chat.id, "side": "customer"}]


def test_only_the_chats_own_people_type_in_it(app, online, other_agent):
    chat, _visitor = guest_chat()
    _other, stranger = guest_chat(email="hal@example.test")
    service.accept(online, chat)
    with pytest.raises(NotAllowed):
        service.typing(other_agent, chat)
    with pytest.raises(NotFound):
        service.typing(stranger, chat)


def test_the_transcript_is_mailed_once_without_notes(app, smtp, online):
    chat, visitor = guest_chat()
    service.accept(online, chat)
    service.post_message(online, chat, body="Restarting your server now.")
    service.add_note(online, chat, body="Internal: the customer is on the old plan")
    assert service.send_transcript(visitor, chat) is True
    mail = smtp.wait_for(1)[0]
    assert mail["To"] == "Gina Guest <gina@example.test>"
    text = mail.get_body(("plain",)).get_content()
    assert "Hello, my server is down" in text and "Restarting your server now." in text
    assert "old plan" not in text and "old plan" not in mail.get_body(("html",)).get_content()
    assert chat.transcript_sent_at is not None
    assert service.send_transcript(visitor, chat) is False
    assert len(smtp.wait_for(2, timeout=1.0)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatEvent)
                             .where(ChatEvent.chat_id == chat.id)) == 4


def test_agents_chat_actions_read_as_sentences_in_the_audit_trail(app, online):
    from helpdesk.audit import sentences
    from helpdesk.audit.models import AuditEvent

    chat, _visitor = guest_chat()
    service.accept(online, chat)
    service.add_note(online, chat, body="Private words")
    service.end_chat(online, chat)
    rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    told = [str(s) for t in sentences.tell(rows) for s in t.sentences]
    assert "Set the chat availability of Alex Agent to online." in told
    assert f"Took the chat #{chat.id} Gina Guest." in told
    assert f"Added a note to the chat #{chat.id} Gina Guest." in told
    assert f"Ended the chat #{chat.id} Gina Guest." in told
    assert not any("Private words" in sentence for sentence in told)
