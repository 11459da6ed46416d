"""What agents do with mail the gateway could not place: list it, read the raw message, run it through
the pipeline again, or open a ticket from it by hand. Every door (the console, the CLI) calls these; running
and reading mail again is the gateway's, reached through helpdesk.inbound.gateway."""
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from helpdesk import storage
from helpdesk.db import Batch, begin_write, parse_id, utcnow
from helpdesk.errors import Conflict, NotFound
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.inbound.gateway import gateway
from helpdesk.inbound.models import PROCESSED, QUARANTINED, InboundMessage
from helpdesk.inbound.reasons import describe
from helpdesk.tickets import access
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Department, Ticket


def quarantined(actor, limit=200):
    """Quarantined messages ``actor`` may handle (see ``may_handle``), newest first. Agents only."""
    access.require_agent(actor)
    rows = db.session.scalars(
        sa.select(InboundMessage).where(InboundMessage.status == QUARANTINED)
        .order_by(InboundMessage.id.desc()).limit(limit)
    ).all()
    if actor.is_system or actor.is_admin:
        return rows
    departments = _departments()
    return [row for row in rows if may_handle(actor, row, departments)]


def count_quarantined() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)
                             .where(InboundMessage.status == QUARANTINED))


def _departments():
    return db.session.execute(sa.select(Department.id, Department.name, Department.inbound_address)).all()


def _mailbox_department(row, departments):
    """The department of the mailbox the message was fetched from (``MAIL_MAILBOXES``' "department")."""
    for spec in current_app.config.get("MAIL_MAILBOXES") or []:
        if spec.get("department") and row.mailbox in (f"imap:{spec.get('name')}", f"maildir:{spec.get('name')}"):
            return next((d_id for d_id, name, _inbound in departments if name == spec["department"]), None)
    return None


def _recipients(raw: bytes) -> set:
    """Every address in the header block's To, Cc, Delivered-To and X-Original-To, lower-cased; the block
    alone is read, so a message that does not parse still has its recipients."""
    try:
        head = BytesHeaderParser(policy=compat32).parsebytes(raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0])
        values = [str(v) for name in ("to", "cc", "delivered-to", "x-original-to") for v in head.get_all(name) or ()]
        return {address.lower() for _name, address in getaddresses(values) if "@" in address}
    except Exception:  # unreadable headers: addressed to no department
        return set()


def addressed_department(row, departments=None):
    """The id of the department a stored message was sent to, by the gateway's rule (the mailbox's
    department, else the department whose inbound address is a recipient, "+tags" allowed); None: none."""
    departments = _departments() if departments is None else departments
    found = _mailbox_department(row, departments)
    if found is not None:
        return found
    recipients = _recipients(storage.get(row.raw_key))
    for department_id, _name, inbound in departments:
        local, _at, domain = (inbound or "").lower().rpartition("@")
        if local and any(a.rpartition("@")[2] == domain and a.rpartition("@")[0].split("+", 1)[0] == local
                         for a in recipients):
            return department_id
    return None


def _tickets_behind(row):
    """The tickets the message belongs to or was threaded to before it was held (a stranger's reply)."""
    number = (row.reason_params or {}).get("number")
    clauses = [Ticket.id == row.ticket_id] if row.ticket_id else []
    if parse_id(number) is not None:
        clauses.append(Ticket.number == parse_id(number))
    return db.session.scalars(sa.select(Ticket).where(sa.or_(*clauses))).all() if clauses else []


def may_handle(actor, row, departments=None) -> bool:
    """Whether ``actor`` may read, retry or open a ticket from ``row``: agents who reach the department it was
    sent to and every ticket behind it (admins: all)."""
    if actor.is_system or actor.is_admin:
        return True
    return (access.agent_reaches_department(actor, addressed_department(row, departments))
            and all(access.agent_in_scope(actor, ticket) for ticket in _tickets_behind(row)))


def get(actor, inbound_id, *, for_update=False) -> InboundMessage:
    """The quarantined message ``inbound_id`` if ``actor`` may handle it; NotFound if there is none or it is not
    theirs to see, Conflict if it has left the quarantine. ``for_update``: locked until the transaction ends,
    so two agents retrying it at once run it once."""
    access.require_agent(actor)
    row_id = parse_id(inbound_id)
    query = sa.select(InboundMessage).where(InboundMessage.id == row_id).execution_options(populate_existing=True)
    if for_update:
        begin_write(db.session)
        query = query.with_for_update()
    row = db.session.scalar(query) if row_id is not None else None
    if row is None or not may_handle(actor, row):
        raise NotFound()
    if row.status != QUARANTINED:
        raise Conflict(_l("This message is not in quarantine any more."))
    return row


def raw_bytes(actor, inbound_id) -> bytes:
    """The message exactly as it arrived (quarantined messages only)."""
    return storage.get(get(actor, inbound_id).raw_key)


def reason(row) -> str:
    """Why the message is held, in the reader's language."""
    if row.reason_code:
        return describe(row.reason_code, row.reason_params)
    return (row.error or "").strip().splitlines()[-1] if row.error else ""


def retry(actor, inbound_id):
    """Run a quarantined message through the whole pipeline again (after a fix, or with new tickets in place).
    Once only: a message that left the quarantine (a second click, another agent) raises Conflict. Returns the
    pipeline's outcome (``outcome``, ``reason``, ``ticket_number``)."""
    row = get(actor, inbound_id, for_update=True)
    return gateway().retry(actor, row.id)


def open_ticket_by_hand(actor, inbound_id, *, requester_email, subject=None) -> int:
    """Open a ticket from a quarantined message for ``requester_email``, even when the message cannot
    be parsed (its bytes become the text). Returns the ticket number."""
    row = get(actor, inbound_id, for_update=True)
    mail = gateway().read(storage.get(row.raw_key), max_attachment_bytes=current_app.config["MAX_ATTACHMENT_BYTES"])
    attachments = [tickets.NewAttachment(a.filename, a.content_type, a.data, a.content_id) for a in mail.attachments]
    with Batch(db.session):
        row.status, row.outcome, row.processed_at = PROCESSED, "opened_by_hand", utcnow()
        ticket = tickets.open_ticket(
            actor, subject=subject or mail.subject or _("(no subject)"),
            body_text=mail.text or _("(This message has no text.)"), body_html=mail.html,
            requester_email=requester_email, attachments=attachments, source="email", message_id=mail.message_id,
        )
        row.ticket_id = ticket.id
        number = ticket.number
    return number
