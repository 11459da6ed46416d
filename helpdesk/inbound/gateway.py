"""What the inbound domain asks of the mail gateway, which lives in a door and so cannot be imported here: the
gateway hands these over when the app starts (helpdesk.mailgateway.init_app), and the domain calls them."""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

_KEY = "helpdesk.inbound.gateway"


@dataclass(frozen=True)
class ReadMail:
    """A stored message read for a ticket opened by hand: what it says, or its bytes as text if unreadable."""

    subject: str | None
    message_id: str | None
    text: str
    html: str | None
    attachments: tuple  # each with filename, content_type, data, content_id


@dataclass(frozen=True)
class MailGateway:
    # (actor, inbound id) -> the pipeline's outcome: run a stored message through every step again.
    retry: Callable[[Any, int], Any]
    # (raw bytes, max_attachment_bytes=) -> ReadMail; never raises for mail it cannot read
    read: Callable[..., ReadMail]
    # (raw bytes) -> the values of its Received headers, as they stand (of the mail inside an Outlook .msg)
    received_headers: Callable[[bytes], list[str]]
    # (raw bytes) -> the Message-ID of the mail inside an Outlook .msg (None: not one, or none inside)
    message_id_inside: Callable[[bytes], str | None]


class NoGateway(RuntimeError):
    """The app was built without the mail gateway, so stored mail cannot be run or read again."""


def register(app, gateway: MailGateway) -> None:
    app.extensions[_KEY] = gateway


def gateway() -> MailGateway:
    found = current_app.extensions.get(_KEY)
    if found is None:
        raise NoGateway("helpdesk.mailgateway is not among the installed packages")
    return found
