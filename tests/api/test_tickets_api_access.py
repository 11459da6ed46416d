"""Who reaches what through the tickets API: for EVERY endpoint of the "tickets" part of the document, another
customer's token gets 404 and nothing of the ticket, a token without the scope gets 403, an agent outside the
ticket's departments gets 404 as in the console; customers never see internal notes nor write them, nor merge.
The table below must name every operation the document tags "tickets" (the first test checks that)."""
import io

import pytest

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import departments, service
from helpdesk.tickets.models import Ticket

pytestmark = pytest.mark.backends("sqlite")

READ, WRITE = "tickets:read", "tickets:write"

# (method, path in the document) -> (the scope it needs, the request body, whether it names one ticket or file).
# Paths are filled with the victim's ticket number and attachment id.
ENDPOINTS = {
    ("get", "/api/v1/tickets"): (READ, None, False),
    ("post", "/api/v1/tickets"): (WRITE, {"subject": "Mine", "body": "Hello.",
                                           "requester_email": "someone@example.test"}, False),
    ("get", "/api/v1/tickets/{number}"): (READ, None, True),
    ("patch", "/api/v1/tickets/{number}"): (WRITE, {"subject": "Hijacked"}, True),
    ("post", "/api/v1/tickets/{number}/close"): (WRITE, None, True),
    ("post", "/api/v1/tickets/{number}/reopen"): (WRITE, None, True),
    ("post", "/api/v1/tickets/{number}/merge"): (WRITE, {"into": "OWN"}, True),
    ("get", "/api/v1/tickets/{number}/messages"): (READ, None, True),
    ("post", "/api/v1/tickets/{number}/replies"): (WRITE, {"body": "Let me in."}, True),
    ("post", "/api/v1/tickets/{number}/notes"): (WRITE, {"body": "Psst."}, True),
    ("get", "/api/v1/tickets/{number}/cc"): (READ, None, True),
    ("post", "/api/v1/tickets/{number}/cc"): (WRITE, {"emails": ["spy@example.test"]}, True),
    ("delete", "/api/v1/tickets/{number}/cc"): (WRITE, None, True),
    ("get", "/api/v1/attachments/{attachment_id}"): (READ, None, True),
    ("get", "/api/v1/search"): (READ, None, False),
}
QUERIES = {("delete", "/api/v1/tickets/{number}/cc"): "?email=colleague@example.test",
           ("get", "/api/v1/search"): "?q=secretword"}


class World:
    """Customer B's ticket (department Technical) with a reply carrying a file, a CC and a note; customer A's
    own ticket with an internal note carrying a file; an agent of Technical and one of Billing only."""


@pytest.fixture
def world(make_user, agent, department):
    w = World()
    w.agent = agent
    w.alice, w.bob = make_user("customer"), make_user("customer")
    billing = departments.create_department(SYSTEM, name="Billing")
    w.outsider = make_user("agent")
    departments.add_agent_to_department(SYSTEM, billing, w.outsider)
    w.victim = service.open_ticket(w.bob, subject="Bob's secretword ticket", body_text="My secretword is 42.",
                                   department=department, cc=["colleague@example.test"], acknowledge=False)
    reply = service.add_agent_reply(agent, w.victim, body_text="Here is your file.", attachments=[
        service.NewAttachment("contract.txt", "text/plain", b"Bob's contract")])
    w.attachment_id = reply.attachments[0].id
    w.own = service.open_ticket(w.alice, subject="Alice's ticket", body_text="Hello.", department=department,
                                acknowledge=False)
    note = service.add_internal_note(agent, w.own, body_text="Alice owes us; secretword.", attachments=[
        service.NewAttachment("debts.txt", "text/plain", b"internal")])
    w.note_attachment_id = note.attachments[0].id
    db.session.commit()
    w.before = _state(w.victim.number)
    return w


def _state(number):
    db.session.commit()  # a fresh read of what the requests left
    ticket = db.session.scalar(db.select(Ticket).where(Ticket.number == number))
    return (ticket.subject, ticket.status, ticket.merged_into_id, len(ticket.messages),
            sorted(p.email for p in ticket.participants))


def _send(client, key, number, attachment_id, own_number):
    method, path = key
    _scope, body, _one = ENDPOINTS[key]
    url = path.format(number=number, attachment_id=attachment_id) + QUERIES.get(key, "")
    if body is not None and body.get("into") == "OWN":
        body = {"into": own_number}
    return client.open(url, method=method.upper(), json=body)


def _leaks(response, world):
    text = response.get_data(as_text=True)
    return any(secret in text for secret in ("secretword", "Bob's contract", world.bob.email,
                                             "colleague@example.test"))


def test_the_table_names_every_tickets_operation_of_the_document(api_client):
    document = api_client.get("/api/v1/openapi.json").get_json()
    operations = {(method, path) for path, item in document["paths"].items() for method, operation in item.items()
                  if isinstance(operation, dict) and "tickets" in operation.get("tags", ())}
    assert operations, "the document tags no operation 'tickets'"
    assert operations - set(ENDPOINTS) == set(), "endpoints missing from ENDPOINTS"
    assert set(ENDPOINTS) - operations == set(), "ENDPOINTS names operations the document does not have"


@pytest.mark.parametrize("key", list(ENDPOINTS), ids=lambda k: f"{k[0].upper()} {k[1]}")
def test_another_customer_gets_404_and_nothing(as_user, world, key):
    client = as_user(world.alice)
    response = _send(client, key, world.victim.number, world.attachment_id, world.own.number)
    if ENDPOINTS[key][2]:
        assert response.status_code == 404, response.get_data(as_text=True)
    else:
        assert response.status_code in (200, 201)
    assert not _leaks(response, world)
    assert _state(world.victim.number) == world.before


@pytest.mark.parametrize("key", list(ENDPOINTS), ids=lambda k: f"{k[0].upper()} {k[1]}")
def test_a_token_without_the_scope_gets_403(as_user, world, key):
    scope = ENDPOINTS[key][0]
    client = as_user(world.bob, [WRITE if scope == READ else READ])  # the owner, with the other scope only
    response = _send(client, key, world.victim.number, world.attachment_id, world.victim.number)
    assert response.status_code == 403
    assert response.get_json()["type"].endswith("insufficient-scope")
    assert not _leaks(response, world)
    assert _state(world.victim.number) == world.before


@pytest.mark.parametrize("key", list(ENDPOINTS), ids=lambda k: f"{k[0].upper()} {k[1]}")
def test_an_agent_outside_the_ticket_s_departments_gets_404(as_user, world, key):
    client = as_user(world.outsider)
    response = _send(client, key, world.victim.number, world.attachment_id, world.own.number)
    if ENDPOINTS[key][2]:
        assert response.status_code == 404, response.get_data(as_text=True)
    else:
        assert response.status_code in (200, 201)
    assert not _leaks(response, world)
    assert _state(world.victim.number) == world.before


def test_the_owner_and_the_department_s_agent_do_reach_it(as_user, world, token_for):
    """The refusals above are about who asks: the same requests by those who may succeed."""
    client = as_user(world.bob)
    assert client.get(f"/api/v1/tickets/{world.victim.number}").status_code == 200
    assert client.get(f"/api/v1/attachments/{world.attachment_id}").data == b"Bob's contract"
    db.session.commit()
    client.token = token_for(world.agent)
    assert client.get(f"/api/v1/tickets/{world.victim.number}/cc").status_code == 200
    found = client.get("/api/v1/search?q=secretword").get_json()
    assert {hit["ticket"]["number"] for hit in found["items"]} == {world.victim.number, world.own.number}


def test_a_customer_never_sees_nor_writes_internal_notes_nor_merges(as_user, world):
    client = as_user(world.alice)
    thread = client.get(f"/api/v1/tickets/{world.own.number}/messages").get_json()["items"]
    assert [m["kind"] for m in thread] == ["customer"]
    assert client.get(f"/api/v1/attachments/{world.note_attachment_id}").status_code == 404
    assert client.get("/api/v1/search?q=owes").get_json()["items"] == []
    assert client.post(f"/api/v1/tickets/{world.own.number}/notes", json={"body": "Me too."}).status_code == 403
    db.session.commit()
    other = service.open_ticket(world.alice, subject="Another of Alice's", body_text="Hi.", acknowledge=False)
    merged = client.post(f"/api/v1/tickets/{other.number}/merge", json={"into": world.own.number})
    assert merged.status_code == 403
    upload = client.post(f"/api/v1/tickets/{world.own.number}/notes", data={
        "body": "A file.", "attachments": [(io.BytesIO(b"x"), "x.txt")]}, content_type="multipart/form-data")
    assert upload.status_code == 403
    db.session.commit()
    assert len([m for m in db.session.get(Ticket, world.own.id).messages if m.kind == "internal_note"]) == 1


def test_a_customer_opens_tickets_only_for_themselves(as_user, world):
    client = as_user(world.alice)
    response = client.post("/api/v1/tickets", json={"subject": "For Bob?", "body": "Hi.",
                                                    "requester_email": world.bob.email})
    assert response.status_code == 201
    assert response.get_json()["requester"]["email"] == world.alice.email
