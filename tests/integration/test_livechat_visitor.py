"""The chat panel's endpoints as a visitor's browser uses them (through the test client, on PostgreSQL): a guest
starts a chat and is known by its key only, a logged-in customer starts with the session and its CSRF token,
messages and files, the transcript after a reload, leaving a ticket, the end, the rating and the transcript by
mail; the websites allowed to embed the panel get CORS headers and no other does; a visitor never reaches
another chat, nor an agent's internal note."""
import io

import pytest
import sqlalchemy as sa

from helpdesk.chat import service as chats
from helpdesk.chat.models import Chat
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from tests.conftest import log_in

# The chat door's behaviour; the chat services it calls are tested on both databases in the domain's tests.
pytestmark = pytest.mark.backends("postgresql")

EMBEDDING_SITE = "https://www.hosting.example"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def app(app_factory, smtp):
    app = app_factory(CHAT_ALLOWED_ORIGINS=[EMBEDDING_SITE])
    with app.app_context():
        yield app
        db.session.remove()


def start(client, **given):
    values = {"name": "Gita Guest", "email": "gita@example.test", "message": "Hello, is anyone there?",
              "origin": "https://helpdesk.example.test/kb/"}
    values.update(given)
    return client.post("/chat/start", json=values)


def started(client, **given):
    """A guest's chat: (its key header, its id)."""
    answer = start(client, **given)
    assert answer.status_code == 201, answer.text
    return {"X-Chat-Key": answer.json["key"]}, answer.json["chat"]["id"]


def accepted_by(agent, chat_id):
    db.session.rollback()
    chat = db.session.get(Chat, chat_id)
    chats.accept(agent, chat)
    return chat


def test_the_panel_learns_the_desk_state_and_the_departments_before_a_chat(client, department, agent):
    answer = client.get("/chat/status")
    assert answer.status_code == 200
    state = answer.json
    assert state["open"] is True
    assert state["agents_online"] == 0  # nobody switched to online
    assert state["offer_ticket_after"] == 120
    assert state["departments"] == [{"id": department.id, "name": "Technical"}]
    assert state["customer"] is None
    assert state["csrf_token"]


def test_a_guest_starts_a_chat_and_reads_it_back_with_its_key_only(client, department):
    answer = start(client, department=department.id)
    assert answer.status_code == 201
    body = answer.json
    assert len(body["key"]) >= 24
    assert body["chat"]["status"] == "waiting"
    assert body["chat"]["name"] == "Gita Guest"
    assert "email" not in body["chat"]  # the visitor's JSON has no address in it
    assert body["chat"]["department"] == {"id": department.id, "name": "Technical"}

    back = client.get("/chat/visitor", headers={"X-Chat-Key": body["key"]})
    assert back.status_code == 200
    assert back.json["chat"]["id"] == body["chat"]["id"]
    assert [(e["kind"], e["side"], e["body"]) for e in back.json["events"]] == [
        ("message", "customer", "Hello, is anyone there?")]

    for headers in ({}, {"X-Chat-Key": "not-a-key-of-any-chat-at-all"}):
        refused = client.get("/chat/visitor", headers=headers)
        assert refused.status_code == 404
        assert refused.json["error"]


def test_a_guest_must_give_a_name_and_an_address(client):
    answer = client.post("/chat/start", json={"name": "", "email": "not an address"})
    assert answer.status_code == 400
    assert set(answer.json["fields"]) >= {"name", "email"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Chat)) == 0


def test_a_logged_in_customer_starts_with_the_session_and_its_csrf_token(client, customer):
    log_in(client, customer.email)
    state = client.get("/chat/status").json
    assert state["customer"] == {"name": "Carla Customer", "email": "carla@example.test"}

    without_token = client.post("/chat/start", json={"message": "Hi"})
    assert without_token.status_code == 400
    assert "fields" in without_token.json

    answer = client.post("/chat/start", json={"message": "Hi", "name": "Someone Else"},
                         headers={"X-CSRFToken": state["csrf_token"]})
    assert answer.status_code == 201, answer.text
    assert answer.json["chat"]["name"] == "Carla Customer"  # the account's name, not what was typed
    db.session.rollback()
    chat = db.session.get(Chat, answer.json["chat"]["id"])
    assert (chat.customer_id, chat.email) == (customer.id, "carla@example.test")


def test_messages_and_files_go_to_the_chat_and_a_file_downloads_with_the_key(client, agent):
    key, _ = started(client)
    said = client.post("/chat/visitor/messages", json={"body": "My site is down."}, headers=key)
    assert said.status_code == 201
    assert (said.json["kind"], said.json["side"], said.json["body"]) == ("message", "customer", "My site is down.")

    sent = client.post("/chat/visitor/messages", headers=key, content_type="multipart/form-data",
                       data={"body": "Here is the error", "file": (io.BytesIO(PNG), "error.png", "image/png")})
    assert sent.status_code == 201, sent.text
    [attachment] = sent.json["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("error.png", len(PNG))

    empty = client.post("/chat/visitor/messages", json={"body": "  "}, headers=key)
    assert empty.status_code == 400
    assert "body" in empty.json["fields"]

    download = client.get(f"/chat/visitor/attachments/{attachment['id']}", headers=key)
    assert download.status_code == 200
    assert download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment")
    by_link = client.get(f"/chat/visitor/attachments/{attachment['id']}?key={key['X-Chat-Key']}")
    assert by_link.status_code == 404  # never from the URL: access logs would keep the key

    other_key, _ = started(client, name="Olga Other", email="olga@example.test")
    assert client.get(f"/chat/visitor/attachments/{attachment['id']}", headers=other_key).status_code == 404
    assert client.get(f"/chat/visitor/attachments/{attachment['id']}").status_code == 404


def test_a_visitor_never_sees_an_agents_note(client, agent):
    key, chat_id = started(client)
    chat = accepted_by(agent, chat_id)
    chats.add_note(agent, chat, body="Looks like a reseller account, check billing.")
    chats.post_message(agent, chat, body="Hi Gita, Alex here.")
    events = client.get("/chat/visitor", headers=key).json["events"]
    bodies = [event["body"] for event in events]
    assert "Hi Gita, Alex here." in bodies
    assert not any("reseller" in body for body in bodies)
    assert {event["kind"] for event in events} <= {"message", "system"}


def test_reading_typing_ending_rating_and_the_transcript_by_mail(client, agent, smtp):
    key, chat_id = started(client)
    chat = accepted_by(agent, chat_id)
    answer = chats.post_message(agent, chat, body="Fixed it, try again.")
    db.session.rollback()

    assert client.post("/chat/visitor/typing", headers=key).status_code == 204
    read = client.post("/chat/visitor/read", json={"upto": answer.id}, headers=key)
    assert read.status_code == 200 and read.json == {"upto": answer.id}

    early = client.post("/chat/visitor/rating", json={"rating": "good"}, headers=key)
    assert early.status_code == 409  # rated once it has ended

    ended = client.post("/chat/visitor/end", headers=key)
    assert ended.status_code == 200 and ended.json["chat"]["status"] == "ended"
    assert client.post("/chat/visitor/messages", json={"body": "One more thing"}, headers=key).status_code == 409

    rated = client.post("/chat/visitor/rating", json={"rating": "good", "comment": "Quick!"}, headers=key)
    assert rated.status_code == 200 and rated.json["chat"]["rating"] == "good"
    bad = client.post("/chat/visitor/rating", json={"rating": "splendid"}, headers=key)
    assert bad.status_code == 400 and "rating" in bad.json["fields"]

    mailed = client.post("/chat/visitor/transcript", headers=key)
    assert mailed.status_code == 200
    [mail] = smtp.wait_for(1)
    assert mail["To"] == "gita@example.test" or "gita@example.test" in str(mail["To"])
    assert "Fixed it, try again." in mail.get_body(("plain",)).get_content()


def test_out_of_hours_a_guest_leaves_a_ticket_instead(client, department, smtp):
    answer = client.post("/chat/ticket", json={"name": "Gita Guest", "email": "gita@example.test",
                                               "subject": "Site down", "body": "Nobody was there, please call.",
                                               "department": department.id, "privacy": True})
    assert answer.status_code == 201, answer.text
    db.session.rollback()
    ticket = db.session.scalars(sa.select(Ticket)).one()
    assert ticket.number == answer.json["number"]
    assert ticket.subject == "Site down"

    missing = client.post("/chat/ticket", json={"name": "Gita Guest", "email": "gita@example.test"})
    assert missing.status_code == 400
    assert set(missing.json["fields"]) == {"subject", "body", "privacy"}


def test_an_allowed_website_gets_cors_headers_and_any_other_is_refused(client):
    preflight = client.open("/chat/visitor/messages", method="OPTIONS",
                            headers={"Origin": EMBEDDING_SITE, "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "content-type, x-chat-key"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == EMBEDDING_SITE
    assert "x-chat-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers

    embedded = client.post("/chat/start", json={"name": "Gita Guest", "email": "gita@example.test"},
                           headers={"Origin": EMBEDDING_SITE})
    assert embedded.status_code == 201
    assert embedded.headers["Access-Control-Allow-Origin"] == EMBEDDING_SITE
    assert "Origin" in embedded.headers["Vary"]

    elsewhere = client.post("/chat/start", json={"name": "Gita Guest", "email": "gita@example.test"},
                            headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    foreign_preflight = client.open("/chat/start", method="OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in foreign_preflight.headers

    own = client.get("/chat/status", headers={"Origin": "http://localhost"})  # the test client's host
    assert own.status_code == 200
    assert "Access-Control-Allow-Origin" not in own.headers  # same origin needs none


def test_starting_chats_is_rate_limited_like_the_ticket_form(client):
    codes = [start(client, email=f"guest{n}@example.test").status_code for n in range(21)]
    assert codes[:20] == [201] * 20
    assert codes[20] == 429
    assert start(client).json["error"]


def test_with_chat_switched_off_the_door_is_not_found(client, app):
    app.config["CHAT_ENABLED"] = False
    off = client.get("/chat/status")
    assert off.status_code == 404
    assert off.json["error"]
    assert start(client).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Chat)) == 0
