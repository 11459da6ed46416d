"""Chats become tickets: an agent turns a chat into a ticket (its transcript and files the first message, the
acknowledgement mail threading the visitor's email replies into it), and a visitor nobody can answer leaves their
message as a ticket, under exactly the portal form's rules."""
from contextlib import nullcontext

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from helpdesk import audit, storage
from helpdesk.accounts import service as accounts
from helpdesk.actors import GUEST_FORM
from helpdesk.chat import service, transcript
from helpdesk.chat.models import CUSTOMER_SIDE, MESSAGE, Chat, ChatAttachment, ChatEvent
from helpdesk.db import Batch, commit_service_call, in_batch
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import service as tickets
from helpdesk.tickets.changes import system_event
from helpdesk.tickets.checks import SUBJECT_MAX, NewAttachment, check_body, check_department, check_subject

SOURCE = "chat"
_SUBJECT_FROM_MESSAGE = 80  # characters of the visitor's first message a ticket's default subject takes


def _default_subject(chat, events) -> str:
    first = next((e.body for e in events if e.kind == MESSAGE and e.side == CUSTOMER_SIDE and e.body.strip()), "")
    words = " ".join(first.split())
    if words:
        return words if len(words) <= _SUBJECT_FROM_MESSAGE else words[:_SUBJECT_FROM_MESSAGE - 1].rstrip() + "…"
    return _("Live chat with %(name)s", name=chat.name)[:SUBJECT_MAX]


def _files(chat) -> list[NewAttachment]:
    """The files sent in the chat (by either side), read back from storage for the ticket."""
    rows = db.session.scalars(sa.select(ChatAttachment).join(ChatEvent).where(
        ChatEvent.chat_id == chat.id, ChatEvent.kind == MESSAGE).order_by(ChatAttachment.id))
    return [NewAttachment(row.filename, row.content_type, storage.get(row.sha256)) for row in rows]


def convert_to_ticket(agent, chat, *, subject=""):
    """Open a ticket from the chat for its customer (a guest's address as the portal's guest form would: a
    registered address waits for its owner's confirmation). The transcript (no notes) is the first message,
    with the chat's files; the requester gets the acknowledgement with the number, so replying to it by email
    continues the ticket. The chat stays open and says it became ticket #n. A chat becomes one ticket only
    (Conflict the second time)."""
    service.require_agent(agent)
    if chat.ticket_id is not None:
        raise Conflict(_l("This chat is already ticket #%(number)s.", number=chat.ticket.number))
    events = transcript.public_events(chat)
    subject = (subject or "").strip() or _default_subject(chat, events)
    with nullcontext() if in_batch(db.session) else Batch(db.session) as batch:
        if chat.customer is not None and chat.customer.is_customer:
            opener, email, name = agent, chat.customer.email, chat.customer.full_name or chat.name
        else:
            opener, email, name = GUEST_FORM, chat.email, chat.name
        ticket = tickets.open_ticket(
            opener, subject=subject, body_text=transcript.as_text(chat, events), requester_email=email,
            requester_name=name, department=chat.department, attachments=_files(chat), source=SOURCE,
            acknowledge=True, batch=batch)
        taken = db.session.execute(sa.update(Chat).where(Chat.id == chat.id, Chat.ticket_id.is_(None))
                                   .values(ticket_id=ticket.id).execution_options(synchronize_session=False))
        if not taken.rowcount:  # another agent converted it meanwhile: this ticket is rolled back with the batch
            raise Conflict(_l("This chat is already a ticket."))
        db.session.refresh(chat)
        system_event(ticket, agent, {"type": "from-chat", "chat": chat.id})
        service.system_event(chat, agent, {"type": "converted", "number": ticket.number})
        audit.record(agent, "chat", chat, "converted", {"ticket": ticket, "number": ticket.number})
        service.publish_status(chat)
        commit_service_call(db.session)
    return ticket


_FIELDS = {"requester_email": "email"}  # open_ticket's names for the fields the chat panel calls otherwise


def leave_ticket(actor, *, name="", email="", subject="", body="", department=None, privacy=False):
    """Leave a message as a ticket (out of hours, or nobody answered): a customer's own ticket, or a guest's under
    the portal's guest form rules (name and address required, agreement to the privacy policy (``privacy``)
    recorded with the policy's version, a registered address waits for its owner's confirmation). Every field
    error at once; the acknowledgement mail names the ticket's number."""
    errors, extra = {}, {}
    if actor == GUEST_FORM:
        if privacy is not True:
            errors["privacy"] = _l("Please agree to the privacy policy.")
        name = " ".join((name or "").split())
        if not name:
            errors["name"] = _l("Enter your name.")
        elif len(name) > service.NAME_MAX:
            errors["name"] = _l("Your name may be at most %(num)d characters.", num=service.NAME_MAX)
        accounts.check_email(errors, "email", (email or "").strip())
        extra = {"requester_email": (email or "").strip(), "requester_name": name,
                 "privacy_consent": current_app.config["PRIVACY_POLICY_VERSION"]}
    elif not getattr(actor, "is_customer", False):
        raise NotAllowed()
    if errors:  # the ticket's own fields too, so that the panel shows every error at once
        check_subject(errors, subject)
        check_body(errors, body, None)
        check_department(errors, department or None)
        raise ValidationFailed(errors)
    try:
        return tickets.open_ticket(actor, subject=subject, body_text=body, department=department or None,
                                   source=SOURCE, acknowledge=True, **extra)
    except ValidationFailed as exc:
        raise ValidationFailed({_FIELDS.get(k, k): v for k, v in exc.errors.items()}) from None
