"""Whether a new ticket may be about a device, and the ticket's link to it: the seam the ticket store defines and
the devices package fills at start-up (``provide``), so tickets never imports devices. Every door that opens
tickets passes the device it was given as the ``device`` detail (tickets/details.py) and ``open_ticket`` asks
here, so the rule holds for the web form, the API and anything later alike, not only in what a form offers.

    gate.choices(actor, account_id)           the devices a customer may name on the new-ticket form
    gate.check(actor, account_id, ref)        a DeviceGrant, or DeviceRefused with the reason (and what to do)
    gate.link(actor, ticket, grant)           record the ticket's link to the device (the caller's transaction)
    gate.note(ticket)                         what to tell the customer about the new ticket's case, or None
"""
from dataclasses import dataclass
from typing import Protocol

from helpdesk.actors import GUEST_FORM
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class DeviceChoice:
    """A device as the ticket form offers it: its reference (the device id as text) and how it reads; a device on
    which a new ticket would be refused says so in ``reason``."""

    ref: str
    label: str
    reason: str = ""


@dataclass(frozen=True)
class DeviceGrant:
    """The gate's yes: the device (``ref``), and whether the new case waits for staff approval."""

    ref: str
    awaiting_approval: bool = False


class DeviceRefused(ValidationFailed):
    """No new ticket about this device now: ``reason`` says why and what to do (renew, confirm installation)."""

    def __init__(self, reason):
        super().__init__({"device": reason}, message=reason)
        self.reason = reason


class DeviceGate(Protocol):
    def choices(self, actor, account_id) -> list[DeviceChoice]: ...

    def check(self, actor, account_id, ref: str) -> DeviceGrant: ...

    def link(self, actor, ticket, grant: DeviceGrant) -> None: ...

    def note(self, ticket) -> str | None: ...


_gate: list[DeviceGate] = []


def provide(gate: DeviceGate) -> None:
    """Register the devices package's gate (one; a later one replaces it)."""
    _gate[:] = [gate]


def device_choices(actor, account_id) -> list[DeviceChoice]:
    """The devices ``actor`` may name on a new ticket for account ``account_id``; none without devices."""
    if not _gate or account_id is None:
        return []
    return _gate[0].choices(actor, account_id)


def check_new_ticket(actor, account_id, device_ref) -> DeviceGrant | None:
    """None when no device was named; the grant when the devices package allows a new ticket about it for
    ``account_id`` (the account the ticket will belong to: None for staff); DeviceRefused otherwise."""
    ref = str(device_ref or "").strip()
    if not ref:
        return None
    if not _gate or actor == GUEST_FORM:  # a guest has no devices to name (the form offers none)
        raise DeviceRefused(_l("Choose one of your devices from the list."))
    return _gate[0].check(actor, account_id, ref)


def check_device(errors, actor, account_id, device_ref) -> DeviceGrant | None:
    """``check_new_ticket`` for a caller gathering field errors: a refusal goes to ``errors["device"]``."""
    try:
        return check_new_ticket(actor, account_id, device_ref)
    except DeviceRefused as exc:
        errors["device"] = exc.reason
        return None


def link_new_ticket(actor, ticket, grant: DeviceGrant | None) -> None:
    """Record ``ticket``'s link to the granted device, in the transaction that opens it. Never commits."""
    if grant is not None and _gate:
        _gate[0].link(actor, ticket, grant)


def case_note(ticket) -> str | None:
    """What the customer should read about ``ticket``'s device case (it awaits staff approval), or None."""
    return _gate[0].note(ticket) if _gate else None
