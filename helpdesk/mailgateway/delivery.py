"""Reading a stored message's delivery headers for helpdesk.inbound.delivery (which builds the route from
them): the Received headers, and the Message-ID of the mail inside an Outlook .msg file."""
import re
from email.parser import BytesHeaderParser
from email.policy import compat32

from helpdesk.mailgateway import outlook
from helpdesk.mailgateway.parsing import raw_headers


def received_headers(raw: bytes) -> list[str]:
    """The Received header values of a stored raw message, as they stand (an Outlook .msg: of the mail inside
    it, when it was sent and so kept them; none when it cannot be converted)."""
    if outlook.is_ole2(raw):
        try:
            raw = outlook.to_rfc822(raw)
        except outlook.ConversionFailed:
            return []
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return raw_headers(BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n"), "Received")


def message_id_inside(raw: bytes) -> str | None:
    """The Message-ID of the mail inside an Outlook .msg file (None for other mail, or when it has none)."""
    if not outlook.is_ole2(raw):
        return None
    try:
        head = outlook.to_rfc822(raw).replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    except outlook.ConversionFailed:
        return None
    found = re.search(rb"^message-id:\s*(<[^>\s]+>)", head, re.I | re.M)
    return found.group(1).decode("ascii", "replace") if found else None
