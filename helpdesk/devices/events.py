"""What happened to a device, for the packages that follow it (the CRM sync, webhooks later): the devices'
modules ``emit`` an event inside their transaction; each follower queues its own work (an outbox row) there, so
it is sent if and only if the change commits.

    events.emit("device.status_changed", device, {"status": ["active", "expired"]})

Kinds: "device.registered", "device.updated", "device.status_changed", "device.transferred",
"contract.added" (a contract or renewal), "case.charged", "installation.confirmed"."""
from collections.abc import Callable

from helpdesk import events as domain_events

_followers: list[Callable] = []


def follow(follower: Callable) -> None:
    """Call ``follower(kind, device, details)`` for every event from now on."""
    if follower not in _followers:
        _followers.append(follower)


def unfollow(follower: Callable) -> None:
    """Stop calling ``follower`` (a test's listener, when it is done)."""
    if follower in _followers:
        _followers.remove(follower)


def emit(kind: str, device, details: dict | None = None) -> None:
    for follower in _followers:
        follower(kind, device, dict(details or {}))
    if kind == "device.status_changed":  # also a domain event for receivers outside (webhooks)
        before, after = (details or {}).get("status") or (None, None)
        domain_events.emit(kind, {"device": {"id": device.id, "serial_number": device.serial_number,
                                             "status": after, "previous_status": before}},
                           account_ids=(device.account_id,), key=f"device:{device.id}")
