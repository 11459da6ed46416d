"""Live chat across two web processes, as production runs it: two gunicorn (gthread) processes on one PostgreSQL
database and one Redis, a guest's stream held by one and the agent's by the other. What one side writes reaches
the other's stream through Redis; after the guest's process dies and comes back, the guest's stream resumes from
its Last-Event-ID and misses nothing, and repeats nothing."""
import httpx
import pytest

from helpdesk.extensions import db
from tests.chat_client import StreamReader, WebProcess, log_in_agent, web_environment
from tests.conftest import REDIS_URL

pytestmark = [pytest.mark.backends("postgresql"), pytest.mark.slow]

# Streams also read the database at every keep-alive; messages must cross between the processes well before it,
# through Redis.
KEEPALIVE = 60  # a message that arrives well before this came through Redis, not a poll
CROSSING = 10.0  # seconds a message may take from one process's POST to the other process's stream


@pytest.fixture
def two_processes(app, backend, agent, department, redis_prefix, tmp_path):
    """Web processes A and B (their URLs in ``.url``) and the id of the agent's department."""
    if backend != "postgresql":
        pytest.skip("several web processes share a PostgreSQL database")
    department_id = department.id
    db.session.commit()
    db.session.remove()  # the processes see the agent; this test holds no transaction open beside them
    env = web_environment(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "web", redis_url=REDIS_URL,
                          queue_prefix=redis_prefix, secret_key="two-processes-test-secret",
                          CHAT_STREAM_KEEPALIVE_SECONDS=KEEPALIVE, RATELIMIT_ENABLED=False, SMTP_HOST="")
    processes = [WebProcess(env, log_path=tmp_path / f"web-{name}.log") for name in "ab"]
    try:
        for process in processes:
            process.start()
        yield *processes, department_id
    finally:
        for process in processes:
            if process.process is not None:
                process.stop()


def _is(body):
    return lambda data: data.get("body") == body


def test_guest_on_one_process_and_agent_on_another_hear_each_other_and_a_restart_loses_nothing(two_processes):
    web_a, web_b, department_id = two_processes
    guest = httpx.Client(base_url=web_a.url, timeout=15.0)
    staff = httpx.Client(base_url=web_b.url, timeout=15.0)
    streams = []
    try:
        started = guest.post("/chat/start", json={
            "name": "Gita Guest", "email": "gita@example.test", "department": department_id,
            "message": "Hello, is anyone there?", "origin": "https://www.example.test/pricing"})
        assert started.status_code == 201, started.text
        key, chat_id = started.json()["key"], started.json()["chat"]["id"]
        visitor = {"X-Chat-Key": key}

        guest_stream = StreamReader(web_a.url, "/chat/visitor/stream", visitor)
        streams.append(guest_stream)
        assert guest_stream.wait_open() == 200
        assert guest_stream.content_type.startswith("text/event-stream")
        hello = guest_stream.next(where=_is("Hello, is anyone there?"))
        assert hello.json["side"] == "customer" and hello.id == str(hello.json["id"])

        # The agent works on process B: the waiting chat is in their inbox there, and they take it.
        csrf = log_in_agent(staff, "agent@example.test")
        inbox = staff.get("/chat/desk/state")
        assert inbox.status_code == 200
        assert chat_id in [chat["id"] for chat in inbox.json()["waiting"]]
        accepted = staff.post(f"/chat/desk/chats/{chat_id}/accept", headers={"X-CSRFToken": csrf})
        assert accepted.status_code in (200, 204), accepted.text
        agent_stream = StreamReader(web_b.url, f"/chat/desk/chats/{chat_id}/stream", cookies=staff.cookies)
        streams.append(agent_stream)
        assert agent_stream.wait_open() == 200
        assert agent_stream.next(where=_is("Hello, is anyone there?")).json["side"] == "customer"

        # Written on B, heard on A; written on A, heard on B.
        guest_stream.next(where=lambda data: data["kind"] == "system" and (data.get("data") or {}).get(
            "type") == "accepted", timeout=CROSSING)
        said = staff.post(f"/chat/desk/chats/{chat_id}/messages", json={"body": "Hi Gita, Alex here. How can I help?"},
                          headers={"X-CSRFToken": csrf})
        assert said.status_code == 201, said.text
        heard = guest_stream.next(where=_is("Hi Gita, Alex here. How can I help?"), timeout=CROSSING)
        assert heard.json["side"] == "agent" and heard.json["kind"] == "message"
        reply = guest.post("/chat/visitor/messages", json={"body": "My last invoice is charged twice."},
                           headers=visitor)
        assert reply.status_code == 201, reply.text
        assert agent_stream.next(where=_is("My last invoice is charged twice."), timeout=CROSSING).json["side"] == \
            "customer"

        # Process A dies with the guest's stream on it; the agent keeps writing on B meanwhile.
        last_seen = guest_stream.parser.last_id
        web_a.kill()
        assert guest_stream.closed.wait(10.0)
        while_down = ["Let me look at it.", "I see two charges on 3 March; one is refunded now."]
        for body in while_down:
            answer = staff.post(f"/chat/desk/chats/{chat_id}/messages", json={"body": body},
                                headers={"X-CSRFToken": csrf})
            assert answer.status_code == 201, answer.text

        # A comes back; the guest's browser reconnects with the last id it saw.
        web_a.start()
        resumed = StreamReader(web_a.url, "/chat/visitor/stream", visitor, last_event_id=last_seen)
        streams.append(resumed)
        assert resumed.wait_open() == 200
        caught_up = [resumed.next(where=_is(body)) for body in while_down]
        assert [int(frame.id) for frame in caught_up] == sorted(int(frame.id) for frame in caught_up)
        thanks = guest.post("/chat/visitor/messages", json={"body": "Thank you!"}, headers=visitor)
        assert thanks.status_code == 201, thanks.text
        assert agent_stream.next(where=_is("Thank you!"), timeout=CROSSING).json["side"] == "customer"
        resumed.next(where=_is("Thank you!"), timeout=CROSSING)

        # Nothing lost, nothing twice: the two streams together carried the guest's whole transcript.
        before = [int(frame.id) for frame in guest_stream.received if frame.event == "chat-event"]
        after = [int(frame.id) for frame in resumed.received if frame.event == "chat-event"]
        assert min(after) > int(last_seen)
        transcript = guest.get("/chat/visitor", headers=visitor)
        assert transcript.status_code == 200
        assert before + after == [event["id"] for event in transcript.json()["events"]]
        assert [event["body"] for event in transcript.json()["events"] if event["kind"] == "message"] == [
            "Hello, is anyone there?", "Hi Gita, Alex here. How can I help?", "My last invoice is charged twice.",
            *while_down, "Thank you!"]
    finally:
        for stream in streams:
            stream.close()
        guest.close()
        staff.close()
