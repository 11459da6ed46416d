"""Notices and the channels that carry them: the seam between "who should hear about what" (a domain's rules)
and how they hear it (email today; SMS, chat and webhooks next).

A domain says what happened and to whom with a ``Notice`` and calls ``notify``; it does not know about SMTP,
headers or templates. Each ``Channel`` decides whether it carries a notice (an email channel needs an address,
an SMS channel a phone number and the person's consent, a webhook a subscription) and how: the email channel
hands each kind of notice to the composer its domain registered for it, which writes the outbox rows.

    notify(Notice("ticket.agent_reply", recipients, {"ticket": ticket, "message": message}))

Channels queue in the caller's transaction (an outbox row, a job after commit): a notice is sent if and only if
the change it is about is committed. ``batch`` is the caller's ``helpdesk.db.Batch``, if any."""
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Recipient:
    """A person to tell: how to reach them on each channel they have, and the language to tell them in."""

    email: str | None
    name: str = ""
    locale: str | None = None
    user_id: int | None = None
    is_agent: bool = False
    phone: str | None = None


@dataclass(frozen=True)
class Notice:
    """``kind`` ("<domain>.<what>", e.g. "ticket.acknowledgement") happened to the objects in ``about``
    (e.g. {"ticket": ticket, "message": message}); ``recipients`` should hear about it. ``automatic``: no
    person wrote it (an acknowledgement, a reminder), so channels mark it so (Auto-Submitted for email)."""

    kind: str
    recipients: tuple[Recipient, ...]
    about: dict = field(default_factory=dict)
    automatic: bool = False


class Channel(Protocol):
    name: str

    def send(self, notice: Notice, batch=None) -> None:
        """Queue ``notice`` to those of its recipients this channel reaches (nothing when none)."""


class EmailChannel:
    """Email: each kind of notice is written by the composer its domain registered (``compose(kind, f)``),
    ``f(notice, recipients, batch)``, which queues one outbox row per recipient (notify.service.queue_email)."""

    name = "email"

    def __init__(self):
        self._composers: dict[str, Callable] = {}

    def compose(self, kind: str, composer: Callable) -> None:
        self._composers[kind] = composer

    def kinds(self) -> set[str]:
        return set(self._composers)

    def send(self, notice: Notice, batch=None) -> None:
        recipients = [r for r in notice.recipients if r.email]
        if not recipients:
            return
        composer = self._composers.get(notice.kind)
        if composer is None:
            raise LookupError(f"no email composer for notices of kind {notice.kind!r}")
        composer(notice, recipients, batch)


email = EmailChannel()
_channels: list[Channel] = [email]


def register_channel(channel: Channel) -> None:
    """Add a channel (SMS, chat, webhooks) that is offered every notice from now on."""
    if all(existing.name != channel.name for existing in _channels):
        _channels.append(channel)


def channels() -> tuple[Channel, ...]:
    return tuple(_channels)


def notify(notice: Notice, batch=None) -> None:
    """Offer ``notice`` to every channel; each queues it for the recipients it reaches."""
    for channel in _channels:
        channel.send(notice, batch)
