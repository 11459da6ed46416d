"""The chat operations every door calls: start, talk, take, pass on and end a chat, and the reads both sides
need. Each public function takes the actor first (a Visitor, a customer, GUEST_FORM or an agent), is one
transaction, writes the event before anyone hears of it, and nudges the open streams through the hub after the
commit. Availability, limits and chat hours are in routing.py; chat to ticket in convert.py; the transcript mail
in transcript.py (both called through the names below)."""
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from helpdesk import audit, storage
from helpdesk.accounts import service as accounts
from helpdesk.actors import GUEST_FORM
from helpdesk.chat import hub
from helpdesk.chat.access import (  # noqa: F401 (Visitor and visitor_for_key: the doors' names)
    Visitor,
    hash_key,
    is_visitor_of,
    reachable_by,
    require_reader,
    side_in,
    visitor_for_key,
)
from helpdesk.chat.models import (
    ACTIVE,
    AGENT_SIDE,
    CUSTOMER_SIDE,
    ENDED,
    MESSAGE,
    NOTE,
    SYSTEM,
    SYSTEM_SIDE,
    WAITING,
    Chat,
    ChatAttachment,
    ChatEvent,
)
from helpdesk.chat.routing import (  # noqa: F401 (the doors call them as service.*)
    availability_of,
    desk_status,
    has_room,
    is_open,
    my_chats,
    ping,
    require_agent,
    set_availability,
    waiting_chats,
)
from helpdesk.db import commit_service_call, ensure_ids, parse_id, utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name, strip_control
from helpdesk.tickets.checks import NewAttachment, check_attachments, check_department
from helpdesk.tickets.satisfaction import RATINGS
from helpdesk.uploads import clean_filename, is_program

NAME_MAX = 200
ORIGIN_MAX = 500
COMMENT_MAX = 2000
EVENTS_MAX = 500


def _require_not_ended(chat):
    if chat.status == ENDED:
        raise Conflict(_l("This chat has ended."))


# --------------------------------------------------------------------------- writing events

def _check_text(errors, field, text, required=True):
    text = strip_control(text or "").strip()
    if required and not text:
        errors[field] = _l("Enter a message.")
    elif len(text) > current_app.config["MAX_MESSAGE_CHARS"]:
        errors[field] = _l("The message is too long.")
    return text


def _check_files(errors, attachments) -> list[NewAttachment]:
    """Files given as (filename, content_type, bytes) or NewAttachment, checked as the portal checks a ticket's:
    no programs by name or content, not empty, within MAX_ATTACHMENT_BYTES."""
    files, blocked = [], current_app.config["PORTAL_BLOCKED_EXTENSIONS"]
    for item in attachments or ():
        if not isinstance(item, NewAttachment):
            try:
                filename, content_type, data = item
            except (TypeError, ValueError):
                errors["attachments"] = _l("Invalid attachment.")
                continue
            item = NewAttachment(filename, content_type or "application/octet-stream", bytes(data))
        name = clean_filename(item.filename)
        if is_program(name, item.data, blocked):
            errors["attachments"] = _l("%(name)s: programs and scripts cannot be attached.", name=name)
        elif not item.data:
            errors["attachments"] = _l("%(name)s is empty.", name=name)
        else:
            files.append(item)
    return check_attachments(errors, files)


def add_event(chat, *, kind, side, author=None, author_name="", body="", data=None, files=()) -> ChatEvent:
    """A chat event with its files, given its id now (the nudge names it); the streams hear of it after the commit.
    A message is activity in the chat. Internal: the public operation checks and commits."""
    now = utcnow()
    event = ChatEvent(chat=chat, kind=kind, side=side, author_id=getattr(author, "id", None),
                      author_name=clean_name(author_name)[:NAME_MAX], body=body, data=data, created_at=now)
    db.session.add(event)
    for item in files:
        key, size = storage.put(item.data)
        db.session.add(ChatAttachment(event=event, filename=clean_filename(item.filename),
                                      content_type=(item.content_type or "application/octet-stream").lower()[:127],
                                      size=size, sha256=key, created_at=now))
    if kind == MESSAGE:
        chat.last_activity_at = now
    ensure_ids(db.session, chat, event)
    hub.publish_after_commit(hub.chat_channel(chat.id), {"type": "event", "chat": chat.id, "id": event.id})
    return event


def system_event(chat, actor, data) -> ChatEvent:
    return add_event(chat, kind=SYSTEM, side=SYSTEM_SIDE, author=actor if getattr(actor, "is_agent", False) else None,
                     author_name=agent_name(actor) if getattr(actor, "is_agent", False) else "", data=data)


def publish_status(chat):
    hub.publish_after_commit(hub.chat_channel(chat.id), {"type": "status", "chat": chat.id, "status": chat.status})


def _publish_desk():
    hub.publish_after_commit(hub.DESK, {"type": "desk"})


def agent_name(agent) -> str:
    return (getattr(agent, "full_name", "") or getattr(agent, "email", "") or "") if agent is not None else ""


def _update_where(chat, condition, **values) -> bool:
    """Change the chat only if ``condition`` still holds in the database (one UPDATE, so two agents clicking
    at once cannot both take it); refreshes the chat. False when someone else changed it first."""
    changed = db.session.execute(sa.update(Chat).where(Chat.id == chat.id, condition).values(**values)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(chat)
    return bool(changed)


# --------------------------------------------------------------------------- starting and talking

def start_chat(actor, *, name="", email="", department=None, message="", origin="", language="") -> tuple[Chat, str]:
    """Open a chat waiting for an agent; returns it and the visitor's key (shown once, kept only hashed).

    A customer chats under their account's name and address; a guest (GUEST_FORM) must give a name and an
    address we can mail (the transcript and a ticket made of the chat go there). Outside the chat hours the
    chat is refused (Conflict): the panel offers to leave a ticket instead. The first message is optional."""
    errors = {}
    customer = None
    if getattr(actor, "is_customer", False):
        customer, name, email = actor, actor.full_name or actor.email, actor.email
    elif actor == GUEST_FORM:
        name = clean_name(name or "")
        if not name:
            errors["name"] = _l("Enter your name.")
        elif len(name) > NAME_MAX:
            errors["name"] = _l("Your name may be at most %(num)d characters.", num=NAME_MAX)
        email = accounts.check_email(errors, "email", (email or "").strip())
    else:
        raise NotAllowed()
    department = check_department(errors, department)
    message = _check_text(errors, "message", message, required=False)
    if errors:
        raise ValidationFailed(errors)
    if not is_open():
        raise Conflict(_l("Chat is closed at the moment. Leave your message and we will answer by email."))
    key = secrets.token_urlsafe(24)
    now = utcnow()
    language = (language or (customer.locale if customer is not None else "") or "")[:10]
    chat = Chat(status=WAITING, department=department, customer=customer, name=name[:NAME_MAX], email=email,
                language=language, origin=strip_control(origin or "").strip()[:ORIGIN_MAX],
                visitor_key_hash=hash_key(key), created_at=now, last_activity_at=now)
    db.session.add(chat)
    if message:
        add_event(chat, kind=MESSAGE, side=CUSTOMER_SIDE, author=customer, author_name=chat.name, body=message)
    ensure_ids(db.session, chat)
    _publish_desk()
    commit_service_call(db.session)
    return chat, key


def post_message(actor, chat, *, body="", attachments=()) -> ChatEvent:
    """A message from the chat's visitor or from the agent who has the chat, with files (checked like a ticket's
    attachments). A message needs words or a file; an ended chat takes none."""
    side = side_in(actor, chat)
    _require_not_ended(chat)
    errors = {}
    files = _check_files(errors, attachments)
    body = _check_text(errors, "body", body, required=not files and "attachments" not in errors)
    if errors:
        raise ValidationFailed(errors)
    if side == CUSTOMER_SIDE:
        event = add_event(chat, kind=MESSAGE, side=side, author=actor.user, author_name=chat.name, body=body,
                          files=files)
    else:
        event = add_event(chat, kind=MESSAGE, side=side, author=actor, author_name=agent_name(actor), body=body,
                          files=files)
        audit.record(actor, "chat", chat, "message", {"event": event.id})
    commit_service_call(db.session)
    return event


def add_note(agent, chat, *, body) -> ChatEvent:
    """An internal note for agents (never shown to the visitor); any agent may add one, also after the end."""
    require_agent(agent)
    errors = {}
    body = _check_text(errors, "body", body)
    if errors:
        raise ValidationFailed(errors)
    event = add_event(chat, kind=NOTE, side=AGENT_SIDE, author=agent, author_name=agent_name(agent), body=body)
    audit.record(agent, "chat", chat, "note", {"event": event.id})
    commit_service_call(db.session)
    return event


def typing(actor, chat) -> None:
    """Tell the other side someone is typing (nothing is stored; a lost nudge loses nothing)."""
    side = side_in(actor, chat)
    if chat.status != ENDED:
        hub.publish_now(hub.chat_channel(chat.id), {"type": "typing", "chat": chat.id, "side": side})


def mark_read(actor, chat, upto) -> int:
    """The visitor or the agents have read the chat up to event ``upto`` (never moves backwards); returns the mark."""
    require_reader(actor, chat)
    upto = parse_id(upto)
    if upto is None:
        raise ValidationFailed({"upto": _l("Invalid event.")})
    side = CUSTOMER_SIDE if isinstance(actor, Visitor) or getattr(actor, "is_customer", False) else AGENT_SIDE
    column = Chat.customer_read_upto if side == CUSTOMER_SIDE else Chat.agent_read_upto
    last = db.session.scalar(sa.select(sa.func.max(ChatEvent.id)).where(ChatEvent.chat_id == chat.id)) or 0
    upto = min(upto, last)
    if _update_where(chat, column < upto, **{column.key: upto}):
        hub.publish_after_commit(hub.chat_channel(chat.id), {"type": "read", "chat": chat.id, "side": side,
                                                             "upto": upto})
    commit_service_call(db.session)
    return getattr(chat, column.key)


# --------------------------------------------------------------------------- reading

def events_for(actor, chat, after_id=0, limit=EVENTS_MAX) -> list[ChatEvent]:
    """The chat's events after ``after_id`` in order: messages and system events; agents also see the notes."""
    require_reader(actor, chat)
    after_id = parse_id(after_id) or 0
    limit = max(1, min(int(limit or EVENTS_MAX), EVENTS_MAX))
    query = sa.select(ChatEvent).where(ChatEvent.chat_id == chat.id, ChatEvent.id > after_id)
    if not getattr(actor, "is_agent", False):
        query = query.where(ChatEvent.kind != NOTE)
    return list(db.session.scalars(query.order_by(ChatEvent.id).limit(limit)
                                   .options(selectinload(ChatEvent.attachments))))


def get_chat(actor, chat_id) -> Chat:
    """The chat ``chat_id`` if ``actor`` may read it; NotFound otherwise (a visitor learns of no other chat)."""
    found = db.session.get(Chat, parse_id(chat_id)) if parse_id(chat_id) is not None else None
    if found is None:
        raise NotFound()
    require_reader(actor, found)
    return found


def chat_for_ticket(ticket_id) -> Chat | None:
    """The chat a ticket was made from, if any."""
    return db.session.scalar(sa.select(Chat).where(Chat.ticket_id == getattr(ticket_id, "id", ticket_id))
                             .order_by(Chat.id.desc()).limit(1))


def _like(word):
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_chats(agent, query, limit=50) -> list[Chat]:
    """Chats whose visitor's name or address, or any message or note, holds every word of ``query``;
    the latest activity first."""
    require_agent(agent)
    words = (query or "").split()[:8]
    if not words:
        return []
    statement = sa.select(Chat).where(reachable_by(agent))
    for word in words:
        pattern = _like(word)
        in_events = sa.select(ChatEvent.id).where(ChatEvent.chat_id == Chat.id,
                                                  ChatEvent.body.ilike(pattern, escape="\\")).exists()
        statement = statement.where(sa.or_(Chat.name.ilike(pattern, escape="\\"),
                                           Chat.email.ilike(pattern, escape="\\"), in_events))
    limit = max(1, min(int(limit or 50), 200))
    return list(db.session.scalars(statement.order_by(Chat.last_activity_at.desc(), Chat.id.desc()).limit(limit)))


# --------------------------------------------------------------------------- JSON for both sides

def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def describe(event) -> str:
    """A system event as one sentence in the current language (the visitor's panel and the inbox show it)."""
    data = event.data if isinstance(event.data, dict) else {}
    kind = data.get("type")
    if kind == "accepted":
        return _("%(agent)s joined the chat.", agent=data.get("agent") or event.author_name)
    if kind == "transferred" and data.get("agent"):
        return _("The chat was passed to %(agent)s.", agent=data["agent"])
    if kind == "transferred":
        return _("The chat was passed to %(department)s. Please wait for an agent.",
                 department=data.get("department") or "")
    if kind == "ended":
        return _("The chat has ended.")
    if kind == "converted":
        return _("This conversation is now ticket #%(number)s; we will answer there by email as well.",
                 number=data.get("number", ""))
    return _("The chat was changed.")


def event_json(event, for_agent: bool) -> dict:
    """One event as both sides' JSON (a system event's body is its sentence in the current language)."""
    return {
        "id": event.id,
        "kind": event.kind,
        "side": event.side,
        "author": event.author_name or None,
        "body": describe(event) if event.kind == SYSTEM else event.body,
        "created_at": _iso(event.created_at),
        "data": event.data or {},
        "attachments": [{"id": a.id, "filename": a.filename, "size": a.size, "content_type": a.content_type}
                        for a in event.attachments],
    }


def waited_seconds(chat, now=None) -> int:
    """How long the visitor waited (is waiting) for an agent."""
    end = (now or utcnow()) if chat.status == WAITING else (chat.accepted_at or chat.ended_at or utcnow())
    return max(0, int((end - chat.created_at).total_seconds()))


def chat_json(chat, for_agent: bool) -> dict:
    """One chat as both sides' JSON; the visitor's address only for agents."""
    result = {
        "id": chat.id,
        "status": chat.status,
        "name": chat.name,
        "department": {"id": chat.department.id, "name": chat.department.name} if chat.department else None,
        "agent": agent_name(chat.agent) or None,
        "created_at": _iso(chat.created_at),
        "accepted_at": _iso(chat.accepted_at),
        "ended_at": _iso(chat.ended_at),
        "ticket": {"id": chat.ticket.id, "number": chat.ticket.number} if chat.ticket is not None else None,
        "customer_read_upto": chat.customer_read_upto,
        "agent_read_upto": chat.agent_read_upto,
        "rating": chat.rating,
        "waited_seconds": waited_seconds(chat),
    }
    if for_agent:
        result["email"] = chat.email
    return result


# --------------------------------------------------------------------------- taking, passing on, ending

def accept(agent, chat) -> Chat:
    """The agent takes a waiting chat. Refused (NotAllowed) when the agent has their limit of open chats;
    Conflict when another agent took it first or it ended."""
    require_agent(agent)
    require_reader(agent, chat)
    if not has_room(agent):
        raise NotAllowed(_l("You already have as many chats as you can take. End one first."))
    now = utcnow()
    if not _update_where(chat, Chat.status == WAITING, status=ACTIVE, agent_id=agent.id, accepted_at=now,
                         last_activity_at=now):
        raise Conflict(_l("This chat was taken by another agent or has ended."))
    system_event(chat, agent, {"type": "accepted", "agent": agent_name(agent)})
    audit.record(agent, "chat", chat, "accepted")
    publish_status(chat)
    _publish_desk()
    commit_service_call(db.session)
    return chat


def _check_transfer_agent(errors, agent, to_agent):
    from helpdesk.tickets.checks import find_user

    target = find_user(to_agent)
    if target is None or not target.is_agent or not target.active:
        errors["to_agent"] = _l("Choose an agent.")
    elif target.id == agent.id:
        errors["to_agent"] = _l("Choose another agent.")
    elif availability_of(target) != "online":
        errors["to_agent"] = _l("%(name)s is not online.", name=agent_name(target))
    elif not has_room(target):
        errors["to_agent"] = _l("%(name)s has as many chats as they can take.", name=agent_name(target))
    return target


def transfer(agent, chat, *, to_agent=None, to_department=None) -> Chat:
    """Pass the chat to another agent (online, with room for it: they have it at once) or to a department
    (it waits there again). The agent who has the chat, or an admin, may pass it on; a waiting chat any agent."""
    require_agent(agent)
    _require_not_ended(chat)
    if chat.status == ACTIVE and chat.agent_id != agent.id and not agent.is_admin:
        raise NotAllowed(_l("Only the agent who has this chat can pass it on."))
    errors = {}
    if (to_agent is None) == (to_department is None):
        errors["to_agent"] = _l("Choose an agent or a department.")
        raise ValidationFailed(errors)
    if to_agent is not None:
        target = _check_transfer_agent(errors, agent, to_agent)
    else:
        department = check_department(errors, to_department)
        if department is None and "department" not in errors:
            errors["department"] = _l("Choose a valid department.")
        if "department" in errors:
            errors["to_department"] = errors.pop("department")
    if errors:
        raise ValidationFailed(errors)
    before = chat.agent_id
    now = utcnow()
    if to_agent is not None:
        moved = _update_where(chat, Chat.status != ENDED, status=ACTIVE, agent_id=target.id,
                              accepted_at=chat.accepted_at or now, last_activity_at=now)
        data = {"type": "transferred", "agent": agent_name(target)}
        changes = {"agent": [before, target.id]}
    else:
        moved = _update_where(chat, Chat.status != ENDED, status=WAITING, agent_id=None,
                              department_id=department.id, last_activity_at=now)
        data = {"type": "transferred", "department": department.name}
        changes = {"agent": [before, None], "department": department.id}
    if not moved:
        raise Conflict(_l("This chat has ended."))
    system_event(chat, agent, data)
    audit.record(agent, "chat", chat, "transferred", changes)
    publish_status(chat)
    _publish_desk()
    commit_service_call(db.session)
    return chat


def end_chat(actor, chat) -> Chat:
    """End the chat (its visitor or any agent); ending an ended chat changes nothing."""
    if is_visitor_of(actor, chat):
        by = CUSTOMER_SIDE
    elif isinstance(actor, Visitor):
        raise NotFound()
    elif getattr(actor, "is_agent", False):
        by = AGENT_SIDE
    else:
        raise NotAllowed()
    now = utcnow()
    if _update_where(chat, Chat.status != ENDED, status=ENDED, ended_at=now, ended_by=by):
        system_event(chat, actor, {"type": "ended", "by": by})
        if by == AGENT_SIDE:
            audit.record(actor, "chat", chat, "ended")
        publish_status(chat)
        _publish_desk()
    commit_service_call(db.session)
    return chat


def rate(visitor, chat, rating, comment="") -> Chat:
    """The visitor's verdict on an ended chat (good or bad, as for tickets); a later one replaces it."""
    if not is_visitor_of(visitor, chat):
        raise NotFound()
    if rating not in RATINGS:
        raise ValidationFailed({"rating": _l("Choose good or bad.")})
    if chat.status != ENDED:
        raise Conflict(_l("A chat can be rated once it has ended."))
    chat.rating = rating
    chat.rating_comment = strip_control(comment or "").strip()[:COMMENT_MAX]
    publish_status(chat)
    commit_service_call(db.session)
    return chat


# --------------------------------------------------------------------------- tickets and transcripts

def convert_to_ticket(agent, chat, *, subject=""):
    """Make a ticket of the chat (see convert.py)."""
    from helpdesk.chat import convert

    return convert.convert_to_ticket(agent, chat, subject=subject)


def leave_ticket(actor, *, name="", email="", subject="", body="", department=None, privacy=False):
    """Leave a message as a ticket when nobody can chat (see convert.py)."""
    from helpdesk.chat import convert

    return convert.leave_ticket(actor, name=name, email=email, subject=subject, body=body, department=department,
                                privacy=privacy)


def send_transcript(visitor, chat) -> bool:
    """Mail the visitor the conversation (see transcript.py)."""
    from helpdesk.chat import transcript

    return transcript.send_transcript(visitor, chat)
