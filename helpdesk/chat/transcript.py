"""The chat as text: the transcript mail a visitor asks for (messages and system events, never notes), written in
the chat's language when the mail goes out, and the transcript a ticket made of the chat starts with."""
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk.chat.access import is_visitor_of
from helpdesk.chat.models import AGENT_SIDE, CUSTOMER_SIDE, NOTE, SYSTEM, Chat, ChatEvent
from helpdesk.db import commit_service_call, utcnow
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.i18n import format_datetime
from helpdesk.notify.service import queue_email


def public_events(chat, upto=None) -> list[ChatEvent]:
    """The events both sides see (no notes), up to event ``upto`` when given, in order."""
    query = sa.select(ChatEvent).where(ChatEvent.chat_id == chat.id, ChatEvent.kind != NOTE)
    if upto is not None:
        query = query.where(ChatEvent.id <= upto)
    return list(db.session.scalars(query.order_by(ChatEvent.id)))


def lines(chat, events) -> list[dict]:
    """One entry per event for the templates and the ticket: when, who and what (a system event as its sentence)."""
    from helpdesk.chat.service import describe

    result = []
    for event in events:
        if event.kind == SYSTEM:
            who, text = "", describe(event)
        else:
            who = event.author_name or (chat.name if event.side == CUSTOMER_SIDE else _("Agent"))
            text = event.body
        result.append({"when": format_datetime(event.created_at, "short"), "who": who, "text": text,
                       "side": event.side, "agent": event.side == AGENT_SIDE,
                       "files": [a.filename for a in event.attachments]})
    return result


def as_text(chat, events) -> str:
    """The transcript as plain text: a line saying whose chat it was, then "[time] name: words" per event."""
    out = [_("Live chat with %(name)s <%(email)s>, %(when)s", name=chat.name, email=chat.email,
             when=format_datetime(chat.created_at, "short")), ""]
    for line in lines(chat, events):
        files = "".join(f"\n    [{_('File')}: {name}]" for name in line["files"])
        head = f"[{line['when']}] {line['who']}: " if line["who"] else f"[{line['when']}] "
        out.append(head + line["text"].replace("\n", "\n    ") + files)
    return "\n".join(out)


def send_transcript(visitor, chat) -> bool:
    """Mail the conversation so far (messages and system events, no notes) to the chat's address, in the chat's
    language, through the outbox. Once per chat: asking again sends nothing more (False)."""
    if not is_visitor_of(visitor, chat):
        raise NotFound()
    now = utcnow()
    sent = db.session.execute(sa.update(Chat).where(Chat.id == chat.id, Chat.transcript_sent_at.is_(None))
                              .values(transcript_sent_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(chat)
    if sent:
        upto = db.session.scalar(sa.select(sa.func.max(ChatEvent.id)).where(ChatEvent.chat_id == chat.id)) or 0
        config = current_app.config
        queue_email(sender=formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"])), recipient=chat.email,
                    recipient_name=chat.name, headers={"Auto-Submitted": "auto-generated"},
                    render_with=render_transcript,
                    render_args={"chat": chat.id, "upto": upto,
                                 "locale": chat.language or (chat.customer.locale if chat.customer else None)})
    commit_service_call(db.session)
    return bool(sent)


def render_transcript(row):
    """Write the transcript mail in the chat's language (called by the mail delivery job)."""
    args, config = row.render_args, current_app.config
    chat = db.session.get(Chat, args["chat"])
    with force_locale(args.get("locale") or config["DEFAULT_LOCALE"]):
        events = public_events(chat, args.get("upto")) if chat is not None else []
        context = {"recipient_name": row.recipient_name, "brand": config["BRAND_NAME"],
                   "lines": lines(chat, events) if chat is not None else [],
                   "started": format_datetime(chat.created_at, "short") if chat is not None else ""}
        row.subject = _("Your chat with %(brand)s", brand=config["BRAND_NAME"])
        row.body_text = render_template("chat/mail/transcript.txt", **context)
        row.body_html = render_template("chat/mail/transcript.html", **context)
