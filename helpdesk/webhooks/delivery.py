"""Deliveries: an event becomes one row per endpoint that hears it, in the transaction of the change (``on_event``,
a follower of helpdesk.events), and a job after the commit sends it (``send_delivery``) through the HTTP sender an
adapter in helpdesk.providers registers (``register_sender``; the domain never imports an HTTP client).

The rules:
- An endpoint hears the kinds it subscribed to: a desk-wide one every event, an account's one only the events
  whose ``account_ids`` hold its account. Disabled endpoints get nothing new.
- Any answer but a 2xx is a failure (Standard Webhooks), as are network errors, timeouts and an address that has
  become private. A failure is retried after RETRY_SCHEDULE (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then once more
  about a day after the first attempt), each delay with up to a tenth more at random; a Retry-After (429, 503)
  longer than the next delay is honoured. After the last attempt the delivery is "given_up".
- Order per key: a delivery waits while an earlier one of the same endpoint and key (a ticket) is still to be
  sent; when one is settled, the next of its key is sent. A receiver that comes back gets every event once, in
  order per ticket.
- An endpoint whose attempts have all failed for WEBHOOKS_DISABLE_AFTER_HOURS, or whose last
  WEBHOOKS_DISABLE_AFTER_GIVEN_UP deliveries were given up, is disabled with the reason, and its owner (its
  creator; the admins for a desk-wide one) is told by email. Its waiting deliveries wait for it to be enabled.
- The secret is opened only to sign; it never reaches a row, a log line or an error."""
import json
import logging
import random
import secrets as random_secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from helpdesk import audit
from helpdesk.actors import SYSTEM
from helpdesk.db import begin_write, utcnow
from helpdesk.extensions import db
from helpdesk.jobs import enqueue, enqueue_after_commit
from helpdesk.stamps import cached, watch
from helpdesk.webhooks import addresses, signing
from helpdesk.webhooks.models import (
    DELIVERED,
    FAILED,
    GIVEN_UP,
    PENDING,
    REASON_FAILING,
    REASON_GIVEN_UP,
    TEST_KIND,
    WAITING,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, ... failed attempt; the attempt after the last delay is the last one.
RETRY_SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 6 * 3600 + 25 * 60)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
CLAIM_TIMEOUT = timedelta(minutes=5)  # a claim older than this was left by a dead worker
RESPONSE_EXCERPT = 2048
MAX_RETRY_AFTER = 24 * 3600


# --------------------------------------------------------------------------- the sender seam

@dataclass(frozen=True)
class Answer:
    """What the receiver said: its status code (None when it did not answer), the start of its body, the error
    when there was no answer, and the seconds its Retry-After asked for."""

    status_code: int | None = None
    body: str = ""
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@runtime_checkable
class Sender(Protocol):
    def send(self, target: addresses.Target, body: bytes, headers: dict, timeout: float) -> Answer:
        """POST ``body`` to ``target.url``, connecting to ``target.ip`` only, following no redirect and reading
        at most RESPONSE_EXCERPT bytes of the answer. Never raises for the receiver's sake: an Answer says."""


_sender: list = []


def register_sender(sender: Sender) -> None:
    _sender[:] = [sender]


def current_sender() -> Sender | None:
    return _sender[0] if _sender else None


# --------------------------------------------------------------------------- queueing (the caller's transaction)

def new_event_id() -> str:
    return "msg_" + random_secrets.token_hex(16)


def _payload(kind: str, data: dict, occurred_at) -> dict:
    return {"type": kind, "timestamp": occurred_at.isoformat().replace("+00:00", "Z"), "data": data}


watch("webhook-endpoints", WebhookEndpoint)


def _listeners() -> tuple[tuple[int, int | None, frozenset], ...]:
    """(id, account id, kinds) of every enabled endpoint, kept by the process until an endpoint changes
    (helpdesk.stamps): every change to a ticket, invoice or device asks, and a mail batch asks many times."""
    return cached("webhook-endpoints", _read_listeners)


def _read_listeners():
    return tuple((row.id, row.account_id, frozenset(row.events or ())) for row in db.session.execute(
        sa.select(WebhookEndpoint.id, WebhookEndpoint.account_id, WebhookEndpoint.events)
        .where(WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id)))


def on_event(event, batch=None) -> None:
    """Follower of helpdesk.events: a delivery row for each endpoint that hears ``event``, sent after the commit."""
    listeners = [endpoint_id for endpoint_id, account_id, kinds in _listeners()
                 if event.kind in kinds and (account_id is None or account_id in event.account_ids)]
    if not listeners:
        return
    payload = _payload(event.kind, event.data, event.occurred_at)
    event_id = new_event_id()
    for endpoint_id in listeners:
        _add(endpoint_id, event.kind, payload, event_id, event.key)


def _add(endpoint_id, kind, payload, event_id, key) -> WebhookDelivery:
    row = WebhookDelivery(endpoint_id=endpoint_id, event_id=event_id, kind=kind, payload=payload,
                          ordering_key=(key or None) and str(key)[:100], status=PENDING, attempts=0,
                          next_attempt_at=utcnow(), created_at=utcnow())
    db.session.add(row)
    enqueue_after_commit(send_delivery, row)
    return row


def queue(endpoint: WebhookEndpoint, *, kind, payload, event_id, key=None) -> WebhookDelivery:
    """A delivery of an event already sent once (a redelivery): same payload and event id, a new row."""
    return _add(endpoint.id, kind, payload, event_id, key)


def queue_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    payload = _payload(TEST_KIND, {"endpoint": {"id": endpoint.id}}, utcnow())
    return _add(endpoint.id, TEST_KIND, payload, new_event_id(), None)


def resume(endpoint: WebhookEndpoint) -> None:
    """An endpoint enabled again: what waited is sent now, each with its attempts counted afresh."""
    waiting = list(db.session.scalars(sa.select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status.in_(WAITING))))
    for row in waiting:
        row.attempts, row.next_attempt_at, row.claimed_at = 0, utcnow(), None
        enqueue_after_commit(send_delivery, row)


# --------------------------------------------------------------------------- sending (a job after the commit)

def _due(now):
    """The conditions of a delivery that may be sent now: waiting, due, not claimed by a live worker, its
    endpoint enabled, and no earlier delivery of its endpoint and key still waiting."""
    earlier = aliased(WebhookDelivery)
    return sa.and_(
        WebhookDelivery.status.in_(WAITING),
        WebhookDelivery.next_attempt_at <= now,
        sa.or_(WebhookDelivery.claimed_at.is_(None), WebhookDelivery.claimed_at < now - CLAIM_TIMEOUT),
        WebhookDelivery.endpoint_id.in_(sa.select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))),
        sa.or_(WebhookDelivery.ordering_key.is_(None), ~sa.exists().where(
            earlier.endpoint_id == WebhookDelivery.endpoint_id, earlier.ordering_key == WebhookDelivery.ordering_key,
            earlier.status.in_(WAITING), earlier.id < WebhookDelivery.id)))


def _claim(delivery_id: int) -> bool:
    now = utcnow()
    taken = db.session.execute(
        sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, _due(now))
        .values(claimed_at=now, attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(taken)


def body_of(row: WebhookDelivery) -> bytes:
    return json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def send_delivery(delivery_id: int) -> str:
    """Send one delivery if it is due: "delivered", "failed" (retried later), "given_up" or "skipped" (not due,
    waiting behind an earlier one, claimed elsewhere, or gone). Idempotent; safe in several workers at once. No
    transaction is open while the receiver answers."""
    sender = current_sender()
    if sender is None or not _claim(delivery_id):
        db.session.rollback()
        return "skipped"
    try:
        outgoing = _outgoing(db.session.get(WebhookDelivery, delivery_id))
    except Exception:  # the vault's keys changed under the secret: the attempt fails like any other
        log.exception("webhooks: delivery %s could not be prepared", delivery_id)
        outgoing = None
    db.session.rollback()
    answer = (_attempt(sender, delivery_id, **outgoing) if outgoing is not None
              else Answer(error="the signing secret could not be opened"))
    begin_write(db.session)
    row = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if row is None:  # the endpoint was deleted meanwhile
        db.session.rollback()
        return "skipped"
    endpoint = db.session.get(WebhookEndpoint, row.endpoint_id, with_for_update=True, populate_existing=True)
    outcome = _settle(endpoint, row, answer)
    db.session.commit()
    return outcome


def _outgoing(row) -> dict:
    """What one attempt needs, read before the transaction ends (the secret opened only here)."""
    from helpdesk.webhooks.service import secret_of

    endpoint = row.endpoint
    return {"url": endpoint.url, "secret": secret_of(endpoint), "event_id": row.event_id, "body": body_of(row),
            "allow_private": bool(endpoint.allow_private
                                  or current_app.config["WEBHOOKS_ALLOW_PRIVATE_NETWORKS"])}


def _attempt(sender, delivery_id, *, url, secret, event_id, body, allow_private) -> Answer:
    try:
        target = addresses.check(url, allow_private=allow_private)
    except addresses.UnsafeAddress as exc:
        return Answer(error=f"refused: {exc.reason}")
    headers = signing.headers(secret, event_id, int(utcnow().timestamp()), body)
    try:
        return sender.send(target, body, headers, float(current_app.config["WEBHOOKS_TIMEOUT_SECONDS"]))
    except Exception as exc:  # an adapter's bug must not leave the row claimed; the message carries no secret
        log.exception("webhooks: the sender failed on delivery %s", delivery_id)
        return Answer(error=f"{type(exc).__name__}")


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: the schedule's delay plus up to a tenth at
    random, or the receiver's Retry-After when it asks for longer (at most a day)."""
    base = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    delay = base + random.uniform(0, base / 10)  # jitter, not a secret
    if retry_after is not None:
        delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER))
    return timedelta(seconds=delay)


def _settle(endpoint, row, answer: Answer) -> str:
    now = utcnow()
    row.claimed_at = None
    row.last_status_code = answer.status_code
    row.last_response = (answer.body or "")[:RESPONSE_EXCERPT] or None
    row.last_error = (answer.error or "")[:2000] or None
    if answer.ok:
        row.status, row.delivered_at = DELIVERED, now
        endpoint.failing_since, endpoint.given_up_in_a_row = None, 0
        _next_of_key(row)
        log.info("webhooks: delivery %s to endpoint %s delivered (%s)", row.id, endpoint.id, answer.status_code)
        return DELIVERED
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    if row.attempts >= MAX_ATTEMPTS:
        row.status = GIVEN_UP
        endpoint.given_up_in_a_row = (endpoint.given_up_in_a_row or 0) + 1
        _next_of_key(row)
    else:
        row.status, row.next_attempt_at = FAILED, now + retry_delay(row.attempts, answer.retry_after)
    log.warning("webhooks: delivery %s to endpoint %s failed (attempt %s, %s): %s", row.id, endpoint.id,
                row.attempts, row.status, answer.status_code or answer.error)
    _maybe_disable(endpoint, now)
    return row.status


def _next_of_key(row) -> None:
    """Hand over the next waiting delivery of the same endpoint and key, now that this one is settled."""
    if row.ordering_key is None:
        return
    next_id = db.session.scalar(sa.select(sa.func.min(WebhookDelivery.id)).where(
        WebhookDelivery.endpoint_id == row.endpoint_id, WebhookDelivery.ordering_key == row.ordering_key,
        WebhookDelivery.status.in_(WAITING), WebhookDelivery.id > row.id))
    if next_id is not None:
        enqueue_after_commit(send_delivery, next_id)


def _maybe_disable(endpoint, now) -> None:
    from helpdesk.webhooks.notices import endpoint_disabled

    config = current_app.config
    hours = float(config["WEBHOOKS_DISABLE_AFTER_HOURS"])
    given_up = int(config["WEBHOOKS_DISABLE_AFTER_GIVEN_UP"])
    if not endpoint.enabled:
        return
    if endpoint.failing_since is not None and endpoint.failing_since <= now - timedelta(hours=hours):
        reason = REASON_FAILING
    elif given_up and endpoint.given_up_in_a_row >= given_up:
        reason = REASON_GIVEN_UP
    else:
        return
    endpoint.enabled, endpoint.disabled_reason, endpoint.updated_at = False, reason, now
    audit.record(SYSTEM, "webhook-endpoint", endpoint, "disabled", {"reason": reason, "url": endpoint.url},
                 account_id=endpoint.account_id)
    endpoint_disabled(endpoint)
    log.warning("webhooks: endpoint %s disabled: %s", endpoint.id, reason)


# --------------------------------------------------------------------------- the sweep

def sweep(limit: int = 500) -> int:
    """Hand over the deliveries that are due (a retry's time came, a worker died mid-send, an earlier one of the
    key was settled elsewhere); returns how many."""
    ids = db.session.scalars(sa.select(WebhookDelivery.id).where(_due(utcnow()))
                             .order_by(WebhookDelivery.id).limit(limit)).all()
    db.session.rollback()
    for delivery_id in ids:
        enqueue(send_delivery, delivery_id)
    return len(ids)
