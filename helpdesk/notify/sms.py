"""The SMS channel: short texts to phone numbers, queued in the outbox in the caller's transaction and sent by a
job through the SMS provider registered at start-up (``SmsProvider``; Kavenegar is the first adapter, in
helpdesk.providers). A notice goes out by SMS when its domain registered a text for its kind and the recipient
has a phone number (E.164, see helpdesk.phones):

    sms.compose("devices.debt_warning", lambda notice, recipient: _("Your balance ... %(amount)s", ...))

The text function runs in the recipient's language (``force_locale``) when the notice is queued, and returns the
text, or None to skip this recipient. Never commits; never calls the provider inside the caller's transaction."""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from helpdesk.notify.channels import Notice, Recipient, register_channel  # noqa: F401

_texts: dict[str, Callable[[Notice, Recipient], str | None]] = {}


def compose(kind: str, text: Callable[[Notice, Recipient], str | None]) -> None:
    """Send notices of ``kind`` by SMS too, worded by ``text(notice, recipient)``."""
    _texts[kind] = text


def kinds() -> set[str]:
    return set(_texts)


def text_for(kind: str):
    return _texts.get(kind)


@dataclass(frozen=True)
class SmsResult:
    """What the provider said about one message: its id for the message (for delivery reports) and whether it
    was accepted. ``retry``: a temporary failure (the provider is down, throttled); a permanent one (an invalid
    number, a blocked line) is not retried."""

    accepted: bool
    provider_id: str = ""
    error: str = ""
    retry: bool = False


class SmsProvider(Protocol):
    name: str

    def send(self, phone: str, text: str, *, reference: str) -> SmsResult:
        """Send ``text`` to ``phone`` (E.164). ``reference``: our outbox row's key, unique per message, which a
        provider that supports it uses to refuse a second send of the same message."""
