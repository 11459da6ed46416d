"""Server-Sent Events for the chat: a visitor's (or an agent's) stream of one chat, and an agent's desk stream.

The database is the truth: a stream first sends every event after the client's Last-Event-ID, then waits for the
hub's nudges and reads what it has not sent from the database, in short transactions. While it waits it holds no
database session or connection (500 open streams would exhaust the pool), and every keep-alive reads the database
too, so a nudge lost with a Redis restart delays a message by one keep-alive at most. After CHAT_STREAM_MAX_SECONDS
the stream asks the client to reconnect (``event: reconnect``), which frees the server's thread now and then;
EventSource reconnects by itself, sending the last id it got.

Typing and read marks are sent straight from the nudge, and only those of the other side."""
import json
import time
from collections import deque

from flask import Response, current_app, stream_with_context

from helpdesk.chat import hub
from helpdesk.chat import service as chats
from helpdesk.chat.models import AGENT_SIDE, CUSTOMER_SIDE
from helpdesk.db import parse_id
from helpdesk.errors import NotFound
from helpdesk.extensions import db

# Event ids are handed out when an event is written, not when its transaction commits: on PostgreSQL a slower
# transaction can commit id 10 after id 11 was sent. Ids sent within this many seconds are read past again.
SETTLE_SECONDS = 5.0
RETRY_MILLISECONDS = 2000  # how long EventSource waits before it reconnects


def frame(event: str, data, event_id=None) -> str:
    """One SSE frame; JSON never holds a raw line break, so the data is one line."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def last_event_id(request) -> int:
    """Where the client's stream stopped: the Last-Event-ID header (EventSource sends it when it reconnects),
    else ?after=N; 0 (from the start) when neither is a valid id."""
    for value in (request.headers.get("Last-Event-ID"), request.args.get("after")):
        number = parse_id(value or "")
        if number is not None:
            return number
    return 0


def event_stream(generate) -> Response:
    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx passes each frame on at once
    return response


class SentIds:
    """The event ids a stream has sent: everything up to ``floor``, and those of the last SETTLE_SECONDS (read
    again in case an older id commits late)."""

    def __init__(self, after: int):
        self.floor = after
        self._recent = deque()  # (monotonic time, id), in the order sent
        self._ids = set()

    def settle(self):
        horizon = time.monotonic() - SETTLE_SECONDS
        while self._recent and self._recent[0][0] < horizon:
            _, event_id = self._recent.popleft()
            self._ids.discard(event_id)
            self.floor = max(self.floor, event_id)

    def read_from(self) -> int:
        """The id to read after: the settled floor."""
        self.settle()
        return self.floor

    def is_new(self, event_id: int) -> bool:
        return event_id > self.floor and event_id not in self._ids

    def add(self, event_id: int):
        self._ids.add(event_id)
        self._recent.append((time.monotonic(), event_id))


def _new_events(actor, chat, sent: SentIds, for_agent: bool, with_chat=False) -> list[str]:
    """Frames of the events of ``chat`` that ``actor`` may see and this stream has not sent yet."""
    frames, after = [], sent.read_from()
    while True:
        events = chats.events_for(actor, chat, after_id=after)
        for event in events:
            if sent.is_new(event.id):
                data = chats.event_json(event, for_agent)
                if with_chat:
                    data["chat"] = chat.id
                frames.append(frame("chat-event", data, event.id))
                sent.add(event.id)
        if len(events) < chats.EVENTS_MAX:
            return frames
        after = events[-1].id


def _ephemeral(payload, other_side: str, with_chat=False) -> str | None:
    """A typing or read frame from a nudge of the other side; None for anything else."""
    kind = payload.get("type")
    if kind not in ("typing", "read") or payload.get("side") != other_side:
        return None
    data = {"side": payload["side"]}
    if kind == "read":
        data["upto"] = payload.get("upto")
    if with_chat:
        data["chat"] = payload.get("chat")
    return frame(kind, data)


class _Clock:
    """The stream's deadline and keep-alive period, read once from the settings."""

    def __init__(self):
        self.keepalive = float(current_app.config["CHAT_STREAM_KEEPALIVE_SECONDS"])
        self.deadline = time.monotonic() + float(current_app.config["CHAT_STREAM_MAX_SECONDS"])

    def wait(self) -> float:
        """Seconds to wait for a nudge now; 0 when the stream's time is up."""
        return max(0.0, min(self.keepalive, self.deadline - time.monotonic()))


def _frames(first: list[str], held: list, answer):
    """The body of a stream: ``first`` frames, then for every batch of nudges (or a keep-alive without any) what
    ``answer(nudges)`` makes of them, until the stream's time is up and it asks the client to reconnect.
    ``held[0]`` is the stream's subscription (the desk stream replaces it as the agent's chats change)."""
    clock = _Clock()
    yield f"retry: {RETRY_MILLISECONDS}\n\n" + "".join(first)
    while True:
        wait = clock.wait()
        if wait <= 0:
            yield frame("reconnect", {})
            return
        nudges = held[0].get(wait)
        out = ([] if nudges else [": keepalive\n\n"]) + answer(nudges)
        if out:
            yield "".join(out)


def chat_stream(load, chat_id: int, *, for_agent: bool, after: int) -> Response:
    """The stream of one chat. ``load()`` returns (actor, chat) in the current transaction (NotFound when the
    reader may no longer see it); it is called again for every read, as nothing is kept between transactions."""
    other_side = CUSTOMER_SIDE if for_agent else AGENT_SIDE

    def read(status: bool) -> list[str]:
        try:
            actor, chat = load()
            frames = _new_events(actor, chat, sent, for_agent)
            if status:
                frames.append(frame("status", chats.chat_json(chat, for_agent)))
            return frames
        finally:
            db.session.remove()  # no session, no connection while the stream waits or writes

    def answer(nudges) -> list[str]:
        out = [text for text in (_ephemeral(p, other_side) for p in nudges) if text]
        status = any(p.get("type") in ("status", hub.RESYNC["type"]) for p in nudges)
        if not nudges or status or any(p.get("type") == "event" for p in nudges):
            out += read(status)
        return out

    def generate():
        held = [hub.subscribe([hub.chat_channel(chat_id)])]  # before the first read: nothing falls between
        try:
            yield from _frames(read(status=True), held, answer)
        except NotFound:
            return  # the chat went away (or the reader lost access): the reconnect will say 404
        finally:
            held[0].close()
            db.session.remove()

    sent = SentIds(after)
    return event_stream(generate)


def _unchanging(state: dict) -> dict:
    """The desk state without the wait times, which change every second: what tells whether the inbox changed."""
    return {**state, "waiting": [{k: v for k, v in chat.items() if k != "waited_seconds"}
                                 for chat in state.get("waiting", ())]}


def desk_stream(load_agent, desk_state, *, after: int) -> Response:
    """An agent's inbox: ``event: desk`` with the whole desk state (``desk_state(agent)``: waiting, mine,
    availability, limit) whenever it changes, and the events, typing, read marks and status of the agent's own
    chats, each frame's data naming its chat. ``load_agent()`` returns the agent in the current transaction
    (NotFound when they are no longer staff)."""

    def read(nudges, first=False):
        """The frames for these nudges (or a keep-alive's poll when there are none), and the chats to listen to."""
        try:
            agent = load_agent()
            state = desk_state(agent)
            frames = []
            inbox = _unchanging(state)
            if first or inbox != shown["inbox"] or any(p.get("type") in ("desk", "resync") for p in nudges):
                frames.append(frame("desk", state))
                shown["inbox"] = inbox
            mine = {chat["id"] for chat in state["mine"]}
            nudged = {p.get("chat") for p in nudges if p.get("type") in ("event", "status")}
            poll_all = first or not nudges or any(p.get("type") == "resync" for p in nudges)
            for chat_id in sorted(mine if poll_all else mine & nudged):
                chat = chats.get_chat(agent, chat_id)
                frames += _new_events(agent, chat, sent, True, with_chat=True)
            for payload in nudges:
                if payload.get("type") == "status" and payload.get("chat") in mine:
                    frames.append(frame("status", {**chats.chat_json(chats.get_chat(agent, payload["chat"]), True),
                                                   "chat": payload["chat"]}))
            return frames, {hub.DESK} | {hub.chat_channel(chat_id) for chat_id in mine}
        finally:
            db.session.remove()

    def answer(nudges) -> list[str]:
        out = [text for text in (_ephemeral(p, CUSTOMER_SIDE, with_chat=True) for p in nudges) if text]
        if not nudges or any(p.get("type") != "typing" and p.get("type") != "read" for p in nudges):
            frames, channels = read(nudges)
            held[0], frames = _follow(held[0], channels, read, frames)
            out += frames
        return out

    def generate():
        held.append(hub.subscribe([hub.DESK]))  # here, not before: a stream never started holds none
        try:
            frames, channels = read([], first=True)
            held[0], frames = _follow(held[0], channels, read, frames)
            yield from _frames(frames, held, answer)
        except NotFound:
            return
        finally:
            held[0].close()
            db.session.remove()

    sent, shown = SentIds(after), {"inbox": None}
    held = []  # the subscription of the moment: it follows the agent's chats
    return event_stream(generate)


def _follow(subscription, channels, read, frames):
    """The subscription for ``channels`` (the agent's chats change as they accept and end them) and the frames to
    send: when the channels changed, a new subscription (opened before the old one closes) and one more read, so
    that whatever happened in a new chat before its channel was heard is sent now."""
    if subscription.channels == frozenset(channels):
        return subscription, frames
    replacement = hub.subscribe(channels)
    try:
        more, _ = read([])
    except BaseException:
        replacement.close()
        raise
    subscription.close()
    return replacement, frames + more
