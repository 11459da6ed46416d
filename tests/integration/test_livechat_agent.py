"""The inbox's endpoints as the console's scripts use them (through the test client, on PostgreSQL): staff only
and with the session's CSRF token; the waiting list, accepting, talking, notes, passing a chat on, ending it,
making a ticket of it, canned responses filled in for the chat, the customer's tickets beside it, and search."""
import io

import pytest

from helpdesk.actors import SYSTEM
from helpdesk.chat import service as chats
from helpdesk.extensions import db
from helpdesk.tickets import canned, departments
from helpdesk.tickets import service as tickets
from tests.conftest import log_in

# The chat door's behaviour; the chat services it calls are tested on both databases in the domain's tests.
pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def staff(client, agent):
    """The agent's logged-in client and the CSRF token its POSTs carry."""
    log_in(client, agent.email)
    token = client.get("/chat/status").json["csrf_token"]
    db.session.rollback()
    return client, {"X-CSRFToken": token}


def guest_chat(client, **given):
    values = {"name": "Gita Guest", "email": "gita@example.test", "message": "Hello, is anyone there?"}
    values.update(given)
    answer = client.post("/chat/start", json=values)
    assert answer.status_code == 201, answer.text
    return {"X-Chat-Key": answer.json["key"]}, answer.json["chat"]["id"]


def test_the_inbox_refuses_visitors_and_customers(client, customer):
    waiting_key, chat_id = guest_chat(client)
    for path in ("/chat/desk/state", f"/chat/desk/chats/{chat_id}", "/chat/desk/search?q=Gita"):
        assert client.get(path).status_code == 403
        assert client.get(path, headers=waiting_key).status_code == 403  # a chat key is no staff login
    log_in(client, customer.email)
    token = client.get("/chat/status").json["csrf_token"]
    refused = client.get("/chat/desk/state")
    assert refused.status_code == 403 and refused.json["error"]
    taken = client.post(f"/chat/desk/chats/{chat_id}/accept", headers={"X-CSRFToken": token})
    assert taken.status_code == 403
    assert client.get(f"/chat/desk/chats/{chat_id}/stream").status_code == 403
    assert client.get("/chat/desk/stream").status_code == 403


def test_the_agents_posts_need_the_csrf_token(staff):
    client, csrf = staff
    _, chat_id = guest_chat(client)
    without = client.post(f"/chat/desk/chats/{chat_id}/accept")
    assert without.status_code == 400
    assert without.json["error"]
    assert client.get("/chat/desk/state").json["waiting"][0]["status"] == "waiting"
    assert client.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf).status_code == 200


def test_an_agent_takes_a_waiting_chat_and_talks_with_notes_unseen_by_the_visitor(staff, agent):
    client, csrf = staff
    key, chat_id = guest_chat(client)
    state = client.get("/chat/desk/state").json
    assert state["availability"] == "offline"
    assert state["limit"] == 3
    assert [chat["id"] for chat in state["waiting"]] == [chat_id]
    assert state["waiting"][0]["email"] == "gita@example.test"  # agents see the address
    assert state["mine"] == []

    assert client.post("/chat/desk/availability", json={"availability": "online"}, headers=csrf).json == {
        "availability": "online"}
    assert client.post("/chat/desk/availability", json={"availability": "asleep"}, headers=csrf).status_code == 400
    assert client.post("/chat/desk/ping", headers=csrf).status_code == 204

    taken = client.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf)
    assert taken.status_code == 200
    assert (taken.json["chat"]["status"], taken.json["chat"]["agent"]) == ("active", "Alex Agent")
    again = client.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf)
    assert again.status_code == 409
    state = client.get("/chat/desk/state").json
    assert (state["waiting"], [chat["id"] for chat in state["mine"]]) == ([], [chat_id])

    said = client.post(f"/chat/desk/chats/{chat_id}/messages", json={"body": "Hi Gita, Alex here."}, headers=csrf)
    assert said.status_code == 201 and said.json["side"] == "agent"
    noted = client.post(f"/chat/desk/chats/{chat_id}/notes", json={"body": "Reseller, check billing."},
                        headers=csrf)
    assert noted.status_code == 201 and noted.json["kind"] == "note"
    filed = client.post(f"/chat/desk/chats/{chat_id}/messages", headers=csrf, content_type="multipart/form-data",
                        data={"body": "The steps", "file": (io.BytesIO(b"1. Log in\n2. Restart\n"), "steps.txt",
                                                            "text/plain")})
    assert filed.status_code == 201, filed.text
    attachment_id = filed.json["attachments"][0]["id"]
    assert client.get(f"/chat/desk/attachments/{attachment_id}").data == b"1. Log in\n2. Restart\n"
    assert client.post(f"/chat/desk/chats/{chat_id}/typing", headers=csrf).status_code == 204
    read = client.post(f"/chat/desk/chats/{chat_id}/read", json={"upto": said.json["id"]}, headers=csrf)
    assert read.json == {"upto": said.json["id"]}

    shown = client.get(f"/chat/desk/chats/{chat_id}").json
    assert [e["body"] for e in shown["events"] if e["kind"] != "system"] == [
        "Hello, is anyone there?", "Hi Gita, Alex here.", "Reseller, check billing.", "The steps"]
    assert shown["chat"]["agent_read_upto"] == said.json["id"]

    seen_by_visitor = client.get("/chat/visitor", headers=key).json["events"]
    assert "Reseller, check billing." not in [e["body"] for e in seen_by_visitor]
    assert "Hi Gita, Alex here." in [e["body"] for e in seen_by_visitor]

    ended = client.post(f"/chat/desk/chats/{chat_id}/end", headers=csrf)
    assert ended.status_code == 200 and ended.json["chat"]["status"] == "ended"
    assert client.get("/chat/desk/state").json["mine"] == []


def test_only_the_agent_who_has_a_chat_writes_in_it(staff, make_user, agent):
    client, csrf = staff
    _, chat_id = guest_chat(client)
    other = make_user("agent", email="bea@example.test", full_name="Bea Agent")
    chats.accept(other, chats.get_chat(other, chat_id))
    db.session.rollback()
    refused = client.post(f"/chat/desk/chats/{chat_id}/messages", json={"body": "Me too"}, headers=csrf)
    assert refused.status_code == 403
    assert client.get(f"/chat/desk/chats/{chat_id}").status_code == 200  # but may read it, like any ticket


def test_a_chat_passed_to_a_department_waits_there_again(staff, make_user):
    client, csrf = staff
    _, chat_id = guest_chat(client)
    billing = departments.create_department(SYSTEM, name="Billing", inbound_address="billing@example.test",
                                            reply_from_address="billing@example.test", signature="Billing")
    db.session.rollback()
    client.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf)
    neither = client.post(f"/chat/desk/chats/{chat_id}/transfer", json={}, headers=csrf)
    assert neither.status_code == 400 and neither.json["fields"]
    moved = client.post(f"/chat/desk/chats/{chat_id}/transfer", json={"to_department": billing.id}, headers=csrf)
    assert moved.status_code == 200, moved.text
    assert moved.json["chat"]["status"] == "waiting"
    assert moved.json["chat"]["department"] == {"id": billing.id, "name": "Billing"}


def test_converting_a_chat_makes_a_ticket_and_tells_where_it_is(staff, smtp):
    client, csrf = staff
    key, chat_id = guest_chat(client)
    client.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf)
    client.post(f"/chat/desk/chats/{chat_id}/messages", json={"body": "Let me look into it."}, headers=csrf)
    converted = client.post(f"/chat/desk/chats/{chat_id}/convert", json={"subject": "Site down"}, headers=csrf)
    assert converted.status_code == 200, converted.text
    ticket = converted.json["ticket"]
    assert ticket["url"] == f"/agent/tickets/{ticket['number']}"
    assert client.get(ticket["url"]).status_code == 200
    assert client.get(f"/chat/desk/chats/{chat_id}").json["chat"]["ticket"] == {"id": ticket["id"],
                                                                                "number": ticket["number"]}
    assert client.post(f"/chat/desk/chats/{chat_id}/convert", json={}, headers=csrf).status_code == 409
    told = client.get("/chat/visitor", headers=key).json["events"][-1]
    assert told["data"] == {"type": "converted", "number": ticket["number"]}


def test_canned_responses_are_filled_in_for_the_chat(staff, department, agent):
    client, _csrf = staff
    canned.create_response(SYSTEM, title="Greeting", body="Hello {customer_name}, {agent_name} here.")
    canned.create_response(SYSTEM, title="Technical", body="About ticket {ticket_number}", department=department.id)
    other = departments.create_department(SYSTEM, name="Sales", inbound_address="sales@example.test",
                                          reply_from_address="sales@example.test", signature="Sales")
    canned.create_response(SYSTEM, title="Sales pitch", body="Buy more", department=other.id)
    db.session.rollback()
    _, chat_id = guest_chat(client, department=department.id)
    offered = client.get(f"/chat/desk/canned?chat={chat_id}")
    assert offered.status_code == 200
    assert [(r["title"], r["body"]) for r in offered.json] == [
        ("Greeting", "Hello Gita Guest, Alex Agent here."),
        ("Technical", "About ticket {ticket_number}"),  # no ticket yet: left as written
    ]
    assert client.get("/chat/desk/canned?chat=nonsense").status_code == 404


def test_the_customers_tickets_are_beside_the_chat_and_search_finds_past_chats(staff, customer, department):
    client, _csrf = staff
    opened = tickets.open_ticket(customer, subject="Invoice question", body_text="Why twice?",
                                 department=department.id, acknowledge=False)
    db.session.rollback()
    # A guest giving a customer's address is shown that customer's tickets too.
    _, chat_id = guest_chat(client, name="Carla", email="carla@example.test", message="About my invoice")
    panel = client.get(f"/chat/desk/chats/{chat_id}").json["customer"]
    assert [(t["number"], t["subject"], t["url"]) for t in panel["tickets"]] == [
        (opened.number, "Invoice question", f"/agent/tickets/{opened.number}")]
    assert panel["services"] == []

    _, stranger_id = guest_chat(client, name="Sam Stranger", email="sam@example.test", message="Hi")
    assert client.get(f"/chat/desk/chats/{stranger_id}").json["customer"] == {"tickets": [], "services": []}

    found = client.get("/chat/desk/search?q=invoice")
    assert [chat["id"] for chat in found.json] == [chat_id]
    assert client.get("/chat/desk/search?q=").json == []


def test_chats_that_do_not_exist_are_not_found(staff):
    client, csrf = staff
    for path in ("/chat/desk/chats/999999", "/chat/desk/chats/999999/stream", "/chat/desk/attachments/999999"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert answer.json["error"]
    assert client.post("/chat/desk/chats/999999/accept", headers=csrf).status_code == 404
