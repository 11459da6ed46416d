"""What agents do with mail the gateway could not place: list it, read the raw message, run it through
the pipeline again, or open a ticket from it by hand."""
import sqlalchemy as sa
from flask_babel import gettext as _

from helpdesk import storage
from helpdesk.db import batch, utcnow
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.models import PROCESSED, QUARANTINED, InboundMessage
from helpdesk.mailgateway.parsing import UnparseableMail, decode_text, parse
from helpdesk.mailgateway.reasons import describe
from helpdesk.tickets import access
from helpdesk.tickets import service as tickets


def quarantined(actor, limit=200):
    """Quarantined messages, newest first. Agents only."""
    access.require_agent(actor)
    return db.session.scalars(
        sa.select(InboundMessage).where(InboundMessage.status == QUARANTINED)
        .order_by(InboundMessage.id.desc()).limit(limit)
    ).all()


def count_quarantined() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)
                             .where(InboundMessage.status == QUARANTINED))


def get(actor, inbound_id) -> InboundMessage:
    access.require_agent(actor)
    row = db.session.get(InboundMessage, inbound_id)
    if row is None:
        raise NotFound()
    return row


def raw_bytes(actor, inbound_id) -> bytes:
    """The message exactly as it arrived."""
    return storage.get(get(actor, inbound_id).raw_key)


def reason(row) -> str:
    """Why the message is held, in the reader's language."""
    if row.reason_code:
        return describe(row.reason_code, row.reason_params)
    return (row.error or "").strip().splitlines()[-1] if row.error else ""


def retry(actor, inbound_id) -> pipeline.Outcome:
    """Run the message through the whole pipeline again (after a fix, or with new tickets in place)."""
    get(actor, inbound_id)
    return pipeline.retry(actor, inbound_id)


def open_ticket_by_hand(actor, inbound_id, *, requester_email, subject=None) -> int:
    """Open a ticket from a quarantined message for ``requester_email``, even when the message cannot
    be parsed (its bytes become the text). Returns the ticket number."""
    row = get(actor, inbound_id)
    if row.status != QUARANTINED:
        raise ValidationFailed({"inbound": _l("This message is not in quarantine any more.")})
    raw = storage.get(row.raw_key)
    from flask import current_app

    try:
        mail = parse(raw, max_attachment_bytes=current_app.config["MAX_ATTACHMENT_BYTES"])
        text, html = mail.text, mail.html or None
        attachments = [tickets.NewAttachment(a.filename, a.content_type, a.data, a.content_id)
                       for a in mail.attachments]
        subject = subject or mail.subject
        message_id = mail.message_id
    except UnparseableMail:
        text, html, attachments, message_id = decode_text(raw, None), None, [], None
    with batch(db.session):
        row.status, row.outcome, row.processed_at = PROCESSED, "opened_by_hand", utcnow()
        ticket = tickets.open_ticket(
            actor, subject=subject or _("(no subject)"), body_text=text or _("(This message has no text.)"),
            body_html=html, requester_email=requester_email, attachments=attachments, source="email",
            message_id=message_id,
        )
        row.ticket_id = ticket.id
        number = ticket.number
    return number
