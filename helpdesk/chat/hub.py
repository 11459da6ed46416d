"""The nudges that tell open chat streams something happened: published after the commit that wrote it, through
Redis pub/sub when the desk has Redis (every web process hears every nudge), in-process otherwise (the embedded
default's one process).

A nudge carries ids, never the only copy of anything: streams read what they have not sent from the database, so
a nudge lost to a Redis restart or a dropped connection delays a message by at most one keep-alive, never loses it.
Typing and read marks are the exception: they are nudges only, as nothing is lost when one goes missing.

Each process holds one Redis connection for listening (one thread, pattern-subscribed to the desk's chat channels)
and fans every nudge out to its local subscriptions, so 500 open streams cost one Redis connection, not 500.
Channels: ``chat:<id>`` for one chat, ``desk`` for the agents' inbox."""
import json
import logging
import os
import queue
import threading
import time

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "helpdesk_chat_nudges"  # session.info: (hub, channel, payload) to publish after the commit
RESYNC = {"type": "resync"}  # told to every subscription when the listener (re)connects: read the database


def _redis_library():
    """The Redis client library, imported once a desk with Redis uses it: the embedded default never needs it,
    and importing it took a tenth of a second of every start (the CLI's, the web app's)."""
    import redis

    return redis


class Subscription:
    """The nudges of some channels for one stream; ``get`` waits for them."""

    def __init__(self, hub, channels):
        self.hub, self.channels = hub, frozenset(channels)
        self._queue = queue.SimpleQueue()

    def put(self, payload):
        self._queue.put(payload)

    def get(self, timeout: float) -> list[dict]:
        """Every nudge that arrived, waiting up to ``timeout`` seconds for the first; [] when none came."""
        try:
            got = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                got.append(self._queue.get_nowait())
            except queue.Empty:
                return got

    def close(self):
        self.hub._drop(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Hub:
    """One per app and process. ``redis_url`` None: nudges stay in this process."""

    def __init__(self, redis_url=None, prefix=""):
        self.prefix = f"{prefix}chat-nudge:"
        self._redis_url = redis_url
        self._redis = _redis_library().Redis.from_url(redis_url) if redis_url else None
        self._subscriptions = {}  # channel → set of Subscription
        self._lock = threading.Lock()
        self._listener = None
        self._listener_pid = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ publishing
    def publish(self, channel: str, payload: dict) -> None:
        if self._redis is None:
            self._deliver(channel, payload)
            return
        redis = _redis_library()
        try:
            self._redis.publish(self.prefix + channel, json.dumps(payload))
        except redis.RedisError as error:
            # Streams of this process still hear it; the others read the database at their next keep-alive.
            log.warning("chat nudge not published through Redis (%s); local streams only", error)
            self._deliver(channel, payload)

    # ------------------------------------------------------------------ subscribing
    def subscribe(self, channels) -> Subscription:
        subscription = Subscription(self, channels)
        with self._lock:
            for channel in subscription.channels:
                self._subscriptions.setdefault(channel, set()).add(subscription)
        if self._redis is not None:
            self._ensure_listener()
        return subscription

    def _drop(self, subscription):
        with self._lock:
            for channel in subscription.channels:
                held = self._subscriptions.get(channel)
                if held is not None:
                    held.discard(subscription)
                    if not held:
                        del self._subscriptions[channel]

    def _deliver(self, channel, payload):
        with self._lock:
            targets = list(self._subscriptions.get(channel, ()))
        for subscription in targets:
            subscription.put(payload)

    def _everyone(self, payload):
        with self._lock:
            targets = {s for held in self._subscriptions.values() for s in held}
        for subscription in targets:
            subscription.put(payload)

    # ------------------------------------------------------------------ the listener thread
    def _ensure_listener(self):
        with self._lock:
            # A forked worker inherits the object but not the thread: start its own.
            if self._listener is not None and self._listener.is_alive() and self._listener_pid == os.getpid():
                return
            self._redis = _redis_library().Redis.from_url(self._redis_url)
            self._listener_pid = os.getpid()
            self._listener = threading.Thread(target=self._listen, name="chat-hub", daemon=True)
            self._listener.start()

    def _listen(self):
        redis = _redis_library()
        pattern = self.prefix + "*"
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(pattern)
                self._everyone(RESYNC)  # nudges published while we were not listening: read the database
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    channel = message["channel"].decode()[len(self.prefix):]
                    try:
                        payload = json.loads(message["data"])
                    except ValueError:
                        continue
                    self._deliver(channel, payload)
            except redis.RedisError as error:
                log.warning("chat hub lost Redis (%s); streams poll the database until it is back", error)
                self._stop.wait(1.0)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except redis.RedisError:
                        pass

    def stop(self):
        self._stop.set()


def hub() -> Hub:
    """This app's hub in this process."""
    extensions = current_app.extensions
    found = extensions.get("helpdesk_chat_hub")
    if found is None:
        found = extensions["helpdesk_chat_hub"] = Hub(current_app.config.get("REDIS_URL") or None,
                                                      current_app.config.get("QUEUE_PREFIX") or "")
    return found


def chat_channel(chat_id) -> str:
    return f"chat:{chat_id}"


DESK = "desk"


def publish_now(channel: str, payload: dict) -> None:
    """Publish at once (typing, read marks: nothing to commit first)."""
    hub().publish(channel, payload)


def publish_after_commit(channel: str, payload: dict, session=None) -> None:
    """Publish once the session's transaction commits; nothing is published if it rolls back."""
    session = session or current_app.extensions["sqlalchemy"].session()
    if session.get_transaction() is None:
        session.connection()  # begun now, so a rollback before any write still drops the nudge
    session.info.setdefault(_PENDING, []).append((hub(), channel, payload))


def subscribe(channels) -> Subscription:
    return hub().subscribe(channels)


@sa.event.listens_for(Session, "after_commit")
def _publish_pending(session):
    pending = session.info.pop(_PENDING, None)
    for found_hub, channel, payload in pending or ():
        found_hub.publish(channel, payload)


@sa.event.listens_for(Session, "after_rollback")
def _forget_pending(session):
    session.info.pop(_PENDING, None)


def wait_for_listener(timeout=5.0) -> bool:
    """For tests and benchmarks: True once this process's hub listens to Redis (or needs no listener)."""
    found = hub()
    if found._redis is None:
        return True
    found._ensure_listener()
    deadline = time.monotonic() + timeout
    probe = found.subscribe(["hub-probe"])
    try:
        while time.monotonic() < deadline:
            found.publish("hub-probe", {"type": "probe"})
            if probe.get(0.2):
                return True
        return False
    finally:
        probe.close()
