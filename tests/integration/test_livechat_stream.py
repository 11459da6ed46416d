"""The chat's Server-Sent Events for real: the app served by Werkzeug's threaded server on a loopback port (as
`make run` serves it) and read with httpx as EventSource reads it, with the hub in-process and through Redis.
What the agent writes reaches the visitor's open stream, a reconnect with Last-Event-ID gets exactly what was
missed, an internal note never reaches the visitor, an open stream holds no database connection while it waits,
and it asks the client to reconnect after CHAT_STREAM_MAX_SECONDS."""
import threading
import time

import httpx
import pytest
from werkzeug.serving import make_server

from helpdesk.chat import hub as chat_hub
from helpdesk.extensions import db, limiter
from tests.chat_client import StreamReader, log_in_agent
from tests.conftest import REDIS_URL
from tests.fakes.loopback import POLL

# The in-process hub is the embedded default's (SQLite), the Redis one production's (PostgreSQL): each runs there.
pytestmark = pytest.mark.backend_pairs("served", {"in-process": "sqlite", "redis": "postgresql"})

EMBEDDING_SITE = "https://www.hosting.example"
NUDGED = 5.0  # seconds within which a nudged stream sends what happened


@pytest.fixture(params=["in-process", "redis"])
def served(request, app_factory, smtp, agent, department):
    """The app on a free loopback port (its base URL), its hub in-process or through Redis."""
    overrides = {"CHAT_ALLOWED_ORIGINS": [EMBEDDING_SITE]}
    if request.param == "redis":
        overrides.update(REDIS_URL=REDIS_URL, QUEUE_PREFIX=request.getfixturevalue("redis_prefix"))
    app = app_factory(**overrides)
    # A keep-alive every quarter second: a stream sees its client gone that soon, and the server stops at once.
    app.config.update(CHAT_STREAM_KEEPALIVE_SECONDS=0.25, CHAT_STREAM_MAX_SECONDS=60)
    with app.app_context():
        db.session.commit()
        db.session.remove()  # the server's threads see the agent; this test holds no transaction beside them
        if request.param == "redis":
            assert chat_hub.wait_for_listener(10.0)
        limiter.reset()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        server.daemon_threads = False  # server_close() waits for the streams to see their clients gone
        thread = threading.Thread(target=server.serve_forever, args=(POLL,), name="chat-test-server", daemon=True)
        thread.start()
        try:
            yield app, f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            found = app.extensions.pop("helpdesk_chat_hub", None)
            if found is not None:
                found.stop()
            db.session.remove()


@pytest.fixture
def people(served):
    """A guest's client with a waiting chat, and the agent's logged-in client: (guest, key header, chat id,
    agent client, CSRF header)."""
    _, url = served
    guest = httpx.Client(base_url=url, timeout=15.0)
    staff = httpx.Client(base_url=url, timeout=15.0)
    try:
        started = guest.post("/chat/start", json={"name": "Gita Guest", "email": "gita@example.test",
                                                  "message": "Hello, is anyone there?"})
        assert started.status_code == 201, started.text
        csrf = {"X-CSRFToken": log_in_agent(staff, "agent@example.test")}
        yield guest, {"X-Chat-Key": started.json()["key"]}, started.json()["chat"]["id"], staff, csrf
    finally:
        guest.close()
        staff.close()


def _body(text):
    return lambda data: data.get("body") == text


def _open(url, path, **kwargs):
    stream = StreamReader(url, path, **kwargs)
    assert stream.wait_open() == 200, stream.error
    return stream


def test_what_the_agent_writes_reaches_the_visitors_open_stream(served, people):
    app, url = served
    guest, key, chat_id, staff, csrf = people
    # Polls far apart: what arrives within NUDGED seconds came by the hub's nudge, not by a keep-alive's read.
    app.config["CHAT_STREAM_KEEPALIVE_SECONDS"] = 30
    stream = _open(url, "/chat/visitor/stream", headers=key)
    try:
        assert stream.content_type.startswith("text/event-stream")
        first = stream.next(where=_body("Hello, is anyone there?"))
        assert first.id == str(first.json["id"]) and first.json["side"] == "customer"
        assert stream.next("status").json["status"] == "waiting"

        assert staff.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf).status_code == 200
        active = stream.next("status", where=lambda data: data["status"] == "active")
        assert active.json["agent"] == "Alex Agent"
        for text in ("Hi Gita, Alex here.", "Which site is it?", "I see it, one moment."):
            said = staff.post(f"/chat/desk/chats/{chat_id}/messages", json={"body": text}, headers=csrf)
            assert said.status_code == 201
            heard = stream.next(where=_body(text), timeout=NUDGED)
            assert heard.json["side"] == "agent" and heard.id == str(said.json()["id"])

        assert staff.post(f"/chat/desk/chats/{chat_id}/typing", headers=csrf).status_code == 204
        assert stream.next("typing", timeout=NUDGED).json == {"side": "agent"}
        assert guest.post("/chat/visitor/typing", headers=key).status_code == 204  # not sent back to the guest
        staff.post(f"/chat/desk/chats/{chat_id}/read", json={"upto": said.json()["id"]}, headers=csrf)
        assert stream.next("read", timeout=NUDGED).json == {"side": "agent", "upto": said.json()["id"]}
        assert [frame for frame in stream.drain(0.5) if frame.event == "typing"] == []
    finally:
        stream.close()
    for _ in range(3):  # frames to a closed connection end its stream now, not at the next keep-alive
        staff.post(f"/chat/desk/chats/{chat_id}/typing", headers=csrf)
        time.sleep(0.1)


def test_a_reconnect_with_last_event_id_gets_exactly_the_missed_events(served, people):
    _, url = served
    _, key, chat_id, staff, csrf = people
    staff.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf)
    stream = _open(url, "/chat/visitor/stream", headers=key)
    seen = stream.next(where=lambda data: data["kind"] == "system")
    stream.close()  # the connection drops

    missed = [staff.post(f"/chat/desk/chats/{chat_id}/messages", json={"body": f"Step {n}"}, headers=csrf).json()
              for n in (1, 2, 3)]
    back = _open(url, "/chat/visitor/stream", headers=key, last_event_id=seen.id)
    try:
        replayed = [back.next(timeout=5.0) for _ in missed]
        assert [(frame.id, frame.json["body"]) for frame in replayed] == [
            (str(m["id"]), m["body"]) for m in missed]
        assert [f for f in back.drain(1.5) if f.event == "chat-event"] == []  # nothing twice, nothing older
        after = _open(url, f"/chat/visitor/stream?after={missed[1]['id']}", headers=key)
        try:
            assert after.next(timeout=5.0).json["body"] == "Step 3"
        finally:
            after.close()
        in_the_url = StreamReader(url, f"/chat/visitor/stream?key={key['X-Chat-Key']}")
        try:
            assert in_the_url.wait_open() == 404  # a key in the URL would end up in access logs
        finally:
            in_the_url.close()
    finally:
        back.close()


def test_an_internal_note_never_reaches_the_visitors_stream(served, people):
    _, url = served
    _, key, chat_id, staff, csrf = people
    staff.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf)
    visitor = _open(url, "/chat/visitor/stream", headers=key)
    agent_side = _open(url, f"/chat/desk/chats/{chat_id}/stream", cookies=staff.cookies)
    try:
        staff.post(f"/chat/desk/chats/{chat_id}/notes", json={"body": "Reseller: check billing first."},
                   headers=csrf)
        staff.post(f"/chat/desk/chats/{chat_id}/messages", json={"body": "One moment please."}, headers=csrf)
        assert agent_side.next(where=_body("Reseller: check billing first.")).json["kind"] == "note"
        visitor.next(where=_body("One moment please."))
        assert "Reseller: check billing first." not in [f.json.get("body") for f in visitor.received
                                                        if f.event == "chat-event"]
    finally:
        visitor.close()
        agent_side.close()


def test_an_open_stream_holds_no_database_connection_while_it_waits(served, people):
    _, url = served
    _, key, _, _, _ = people
    streams = [_open(url, "/chat/visitor/stream", headers=key) for _ in range(3)]
    try:
        for stream in streams:
            stream.next(where=_body("Hello, is anyone there?"))
            stream.next("status")
        db.session.remove()
        held = db.engine.pool.checkedout()
        assert held == 0, f"{held} connections held by 3 waiting streams"
        streams[0].drain(1.5)
        assert streams[0].parser.comments >= 1  # the keep-alive every CHAT_STREAM_KEEPALIVE_SECONDS
    finally:
        for stream in streams:
            stream.close()


def test_a_stream_asks_to_reconnect_after_its_time(served, people):
    app, url = served
    _, key, _, _, _ = people
    app.config["CHAT_STREAM_MAX_SECONDS"] = 1
    stream = _open(url, "/chat/visitor/stream", headers=key)
    try:
        assert stream.next("reconnect", timeout=10.0).json == {}
        assert stream.closed.wait(5.0)
    finally:
        stream.close()


def test_another_chats_key_or_none_opens_no_stream(served, people):
    _, url = served
    guest, _, chat_id, _, _ = people
    for headers in ({}, {"X-Chat-Key": "x" * 32}):
        refused = StreamReader(url, "/chat/visitor/stream", headers=headers)
        try:
            assert refused.wait_open() == 404
        finally:
            refused.close()
    other = guest.post("/chat/start", json={"name": "Olga Other", "email": "olga@example.test"}).json()
    theirs = _open(url, "/chat/visitor/stream", headers={"X-Chat-Key": other["key"]})
    try:
        assert theirs.next("status").json["id"] == other["chat"]["id"] != chat_id
        assert [f for f in theirs.drain(0.5) if f.event == "chat-event"] == []  # nothing of Gita's chat
    finally:
        theirs.close()


def test_cors_headers_for_an_embedding_website_only(served, people):
    _, url = served
    _, key, _, _, _ = people
    allowed = StreamReader(url, "/chat/visitor/stream", headers={**key, "Origin": EMBEDDING_SITE})
    try:
        assert allowed.wait_open() == 200
    finally:
        allowed.close()
    with httpx.Client(base_url=url, timeout=10.0) as browser:
        answer = browser.get("/chat/status", headers={"Origin": EMBEDDING_SITE})
        assert answer.headers["access-control-allow-origin"] == EMBEDDING_SITE
        refused = browser.get("/chat/status", headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers


def test_the_agents_desk_stream_tells_of_waiting_chats_and_carries_their_own(served, people):
    _, url = served
    guest, key, chat_id, staff, csrf = people
    desk = _open(url, "/chat/desk/stream", cookies=staff.cookies)
    try:
        first = desk.next("desk")
        assert [chat["id"] for chat in first.json["waiting"]] == [chat_id]
        assert first.json["mine"] == []

        newcomer = guest.post("/chat/start", json={"name": "Nora New", "email": "nora@example.test"}).json()
        desk.next("desk", where=lambda data: newcomer["chat"]["id"] in [c["id"] for c in data["waiting"]])

        staff.post(f"/chat/desk/chats/{chat_id}/accept", headers=csrf)
        desk.next("desk", where=lambda data: [c["id"] for c in data["mine"]] == [chat_id])
        guest.post("/chat/visitor/messages", json={"body": "My site is down."}, headers=key)
        heard = desk.next(where=_body("My site is down."), timeout=5.0)
        assert heard.json["chat"] == chat_id and heard.json["side"] == "customer"
        guest.post("/chat/visitor/typing", headers=key)
        assert desk.next("typing", timeout=5.0).json == {"side": "customer", "chat": chat_id}
        guest.post("/chat/visitor/messages", json={"body": "Hello?"}, headers={"X-Chat-Key": newcomer["key"]})
        assert "Hello?" not in [f.json.get("body") for f in desk.drain(1.5) if f.event == "chat-event"]
    finally:
        desk.close()


def test_ids_sent_lately_are_read_past_again_so_a_late_commit_is_not_skipped(monkeypatch):
    from helpdesk.livechat import streams

    now = [1000.0]
    monkeypatch.setattr(streams.time, "monotonic", lambda: now[0])
    sent = streams.SentIds(after=7)
    sent.add(11)  # id 10 was handed out first but its transaction has not committed yet
    assert sent.read_from() == 7
    assert (sent.is_new(10), sent.is_new(11), sent.is_new(7)) == (True, False, False)
    sent.add(10)
    now[0] += streams.SETTLE_SECONDS + 1
    assert sent.read_from() == 11  # settled: read after the newest again
    assert not sent.is_new(10) and sent.is_new(12)
