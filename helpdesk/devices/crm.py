"""The seam to the seller's CRM (Didar first): what a device looks like to the CRM (``DeviceRecord``), the
``CrmClient`` interface an adapter in helpdesk.providers implements, the registry of adapters by name, and
CRM_PROVIDER choosing the one the sync uses ("" for none: nothing is queued).

The sync itself (outbox rows written in the caller's transaction, a job after commit, the nightly reconcile) lives
in ``crm_tasks``; this module holds no state but the registry."""
import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from flask import current_app


class CrmError(Exception):
    """The CRM refused or could not be reached. ``retry``: a temporary failure (no answer, 5xx, throttled); a
    permanent one (bad request) is not retried. The message is shown to staff and must carry no secret."""

    def __init__(self, message: str, *, retry: bool = True, status: int | None = None):
        super().__init__(message)
        self.message, self.retry, self.status = message, retry, status


@dataclass(frozen=True)
class DeviceRecord:
    """A device as the CRM keeps it: ``code`` is our stable key for it ("helpdesk-device-<id>"), the rest what
    the seller's staff read there. ``fields`` are plain strings, so comparing with the CRM's copy is exact."""

    code: str
    title: str
    owner: str
    fields: dict = field(default_factory=dict)  # serial, dongle, dates, plan, status, last contract, cases

    def fingerprint(self) -> tuple:
        return (self.title, self.owner, tuple(sorted(self.fields.items())))


@dataclass(frozen=True)
class RemoteDevice:
    """A device record the CRM holds: its id there, our code, and what it says."""

    crm_id: str
    code: str
    title: str = ""
    owner: str = ""
    fields: dict = field(default_factory=dict)

    def fingerprint(self) -> tuple:
        return (self.title, self.owner, tuple(sorted(self.fields.items())))


@runtime_checkable
class CrmClient(Protocol):
    name: str

    def find_device(self, code: str) -> str | None:
        """The CRM's id of the record with our ``code``, None when it has none (asked before creating one, so a
        push retried after a lost answer updates the record it made instead of making a second)."""

    def push_device(self, record: DeviceRecord, crm_id: str | None) -> str:
        """Create (``crm_id`` None) or update the record; the CRM's id for it. CrmError when refused."""

    def push_event(self, crm_id: str, kind: str, text: str, key: str) -> None:
        """Note on the record that ``kind`` happened (a contract added, a case charged): ``text`` in the seller's
        words, ``key`` ours for the event (a retry with the same key is one note where the CRM allows it)."""

    def list_devices(self) -> list[RemoteDevice]:
        """Every device record the CRM holds that one of ours made (its code starts with "helpdesk-device-")."""


_CLIENTS: dict[str, CrmClient] = {}


def register_client(client: CrmClient) -> None:
    _CLIENTS[client.name] = client


def current_client() -> CrmClient | None:
    """The adapter CRM_PROVIDER names; None when none is configured (the sync then queues nothing)."""
    return _CLIENTS.get(current_app.config.get("CRM_PROVIDER") or "")


def device_code(device_id: int) -> str:
    return f"helpdesk-device-{device_id}"


def device_id_of(code: str) -> int | None:
    match = re.fullmatch(r"helpdesk-device-(\d+)", code or "")
    return int(match.group(1)) if match else None


_QUERY_SECRET = re.compile(r"(?i)((?:api_?key|token|secret)=)[^&\s'\"]+")
REDACTED = "[redacted]"


def redact(text, secrets=()) -> str:
    """``text`` without any of ``secrets`` and without the value of an ``apikey=``-like query parameter: for every
    log line, exception message and stored error that might hold a URL we called."""
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
