"""The gateway's part of the quarantine: reading a held message for a ticket an agent opens from it by hand.
The quarantine itself is helpdesk.inbound.quarantine, named here too for the CLI's mail commands."""
from helpdesk.inbound.gateway import ReadMail
from helpdesk.inbound.quarantine import (  # noqa: F401
    addressed_department,
    count_quarantined,
    get,
    may_handle,
    open_ticket_by_hand,
    quarantined,
    raw_bytes,
    reason,
    retry,
)
from helpdesk.mailgateway.parsing import UnparseableMail, decode_text, parse


def read_for_ticket(raw: bytes, *, max_attachment_bytes: int) -> ReadMail:
    """What a stored message says; a message that cannot be parsed is its bytes decoded as text."""
    try:
        mail = parse(raw, max_attachment_bytes=max_attachment_bytes)
    except UnparseableMail:
        return ReadMail(subject=None, message_id=None, text=decode_text(raw, None), html=None, attachments=())
    return ReadMail(subject=mail.subject, message_id=mail.message_id, text=mail.text, html=mail.html or None,
                    attachments=mail.attachments)
