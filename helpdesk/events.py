"""Domain events: what happened, for the packages that follow it (webhooks; later chat and metrics).

A domain package ``emit``s an event inside the transaction of the change; each follower queues its own work there
(an outbox row, a job after commit), so the work happens if and only if the change commits. Followers never change
the domain's rows and never raise for a receiver's sake.

    events.emit("ticket.created", {"ticket": {"number": 1042, ...}}, account_ids=(7,), key="ticket:1042")

``data`` is plain JSON (numbers, strings, lists, dicts; times as ISO 8601 strings): the thin description of the
change that a receiver may show or use to fetch the resource through the API. ``account_ids`` are the customer
accounts whose data this is (their own webhooks hear of it), ``user_ids`` the customer logins whose data it is (a
customer without an account), and ``key`` orders events: two events with the same key are delivered in the order
they were emitted.

The kinds (``KINDS``) are the contract with receivers: add one here before emitting it."""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk.db import utcnow

KINDS = (
    "ticket.created",
    "ticket.updated",
    "ticket.closed",
    "message.added",
    "invoice.finalised",
    "payment.recorded",
    "service.status_changed",
    "device.status_changed",
)


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict
    account_ids: tuple = ()
    user_ids: tuple = ()
    key: str | None = None
    occurred_at: datetime = field(default_factory=utcnow)


_followers: list[Callable] = []


def follow(follower: Callable) -> None:
    """Call ``follower(event, batch)`` for every event from now on (once, however often it is asked)."""
    if follower not in _followers:
        _followers.append(follower)


def unfollow(follower: Callable) -> None:
    if follower in _followers:
        _followers.remove(follower)


def emit(kind: str, data: dict, *, account_ids=(), user_ids=(), key=None, batch=None) -> Event:
    """Tell every follower that ``kind`` happened; ``batch`` is the caller's ``helpdesk.db.Batch``, if any."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}: add it to helpdesk.events.KINDS")
    event = Event(kind, dict(data), tuple(a for a in account_ids if a is not None),
                  tuple(u for u in user_ids if u is not None), key)
    for follower in list(_followers):
        follower(event, batch)
    return event
