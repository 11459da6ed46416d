"""Every change to a ticket, one function each, called by every door (web, mail gateway, CLI, API).
Each public function validates all its input first (raising ValidationFailed with every field error),
checks the actor's permission, changes the store, writes audit rows and outbox mail, and commits once."""
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit, storage
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import Organisation, User
from helpdesk.db import batch, commit_service_call, deferred_index, next_value, parse_id, utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.jobs import enqueue_after_commit_batched
from helpdesk.notify.addresses import NEEDS_SMTPUTF8, InvalidAddress
from helpdesk.notify.service import new_message_id
from helpdesk.sanitize import clean_html, clean_name, html_to_text, strip_control, text_to_html
from helpdesk.tickets import access, notifications, reply_matching, requester_confirmation, sla
from helpdesk.tickets.models import (
    AGENT_REPLY,
    ANSWERED,
    CC,
    CLOSED,
    CUSTOMER_MESSAGE,
    INTERNAL_NOTE,
    NORMAL,
    OPEN,
    PRIORITIES,
    REQUESTER,
    SOURCES,
    STATUSES,
    SYSTEM_EVENT,
    WAITING,
    Attachment,
    Department,
    Message,
    Participant,
    Ticket,
)
from helpdesk.uploads import clean_filename

SUBJECT_MAX = 255
_UNSET = object()
# A dotted path, so the ticket store does not import search (search reads tickets, not the reverse).
REINDEX_TASK = "helpdesk.search.tasks.reindex_tickets"


@dataclass(frozen=True)
class NewAttachment:
    """A file handed to the store by a door: its name as sent, its declared type and its bytes."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None


# --------------------------------------------------------------------------- validation helpers

def _clean_subject(errors, subject):
    subject = " ".join(strip_control(subject or "").split())
    if not subject:
        errors["subject"] = _l("Enter a subject.")
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = _l("The subject may be at most %(num)d characters.", num=SUBJECT_MAX)
    return subject


def _clean_body(errors, body_text, body_html):
    """(text, sanitised html) of a message body, or a field error when it is empty or too long."""
    html = clean_html(strip_control(body_html)) if body_html else ""
    text = strip_control(body_text or "").strip() or html_to_text(html)
    # Markup alone (an empty editor sends "<p><br></p>") is no message; an inline image is.
    if not text.strip() and not re.search(r"<img\b[^>]*\bsrc=", html):
        errors["body"] = _l("Enter a message.")
        return "", ""
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    if len(text) > limit or len(html) > 2 * limit:
        errors["body"] = _l("The message is too long.")
        return "", ""
    return text, html or text_to_html(text)


def _safe_filename(name):
    return clean_filename(name)  # the same name the portal's blocked-program check looked at


def _check_attachments(errors, attachments):
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    for item in attachments:
        if not isinstance(item, NewAttachment):
            errors["attachments"] = _l("Invalid attachment.")
        elif len(item.data) > limit:
            errors["attachments"] = _l("%(name)s is larger than the limit of %(size)s MB.",
                                       name=_safe_filename(item.filename), size=limit // (1024 * 1024))
    return list(attachments)


def _check_priority(errors, priority):
    if priority not in PRIORITIES:
        errors["priority"] = _l("Choose a valid priority.")
    return priority


def _check_department(errors, department):
    """Accept a Department, its id, or None."""
    if department is None or department == "":
        return None
    if isinstance(department, Department):
        return department
    department_id = parse_id(department)
    found = db.session.get(Department, department_id) if department_id is not None else None
    if found is None:
        errors["department"] = _l("Choose a valid department.")
    return found


def _check_cc_list(errors, addresses, exclude=()):
    result = []
    for raw in addresses or ():
        try:
            email = accounts.normalise_email(raw)
        except ValueError as exc:
            if getattr(exc, "kind", None) == NEEDS_SMTPUTF8:
                errors["cc"] = _l("%(address)s: we cannot send email to addresses with accents or non-Latin "
                                  "letters before the @.", address=str(raw)[:100])
            else:
                errors["cc"] = _l("%(address)s is not a valid email address.", address=str(raw)[:100])
            continue
        if email not in exclude and email not in result:
            result.append(email)
    return result


def _check_source(errors, source):
    if source not in SOURCES:
        errors["source"] = _l("Unknown source.")
    return source


# --------------------------------------------------------------------------- internal helpers (never commit)

def _reindex_after_commit(ticket):
    """Update the ticket's search entry once the transaction commits (one index write per commit for all
    its tickets: a mail batch of a hundred tickets is one write, not a hundred).
    Every change an index entry shows passes through here: a message, a system event, a new subject."""
    enqueue_after_commit_batched(REINDEX_TASK, ticket, queue="search")


def _store_attachments(ticket, message, attachments):
    stored = []
    for item in attachments:
        key, size = storage.put(item.data)
        row = Attachment(
            ticket=ticket, message=message, filename=_safe_filename(item.filename),
            content_type=(item.content_type or "application/octet-stream").lower()[:127], size=size, sha256=key,
            content_id=item.content_id,
        )
        db.session.add(row)
        stored.append(row)
    return stored


def _add_message(ticket, *, kind, author, text, html, source, message_id=None, in_reply_to=None,
                 author_email=None, author_name=None, attachments=(), events=()):
    now = utcnow()
    message = Message(
        ticket=ticket, kind=kind, author=author if isinstance(author, User) else None,
        author_email=author_email or getattr(author, "email", None),
        # Names from a form or a From header can be longer than the column (PostgreSQL would refuse them).
        author_name=clean_name(author_name or getattr(author, "full_name", None) or "") or None,
        body_text=text, body_html=html, source=source, created_at=now,
        message_id=message_id or new_message_id(str(ticket.number)), in_reply_to=in_reply_to,
    )
    db.session.add(message)
    reply_matching.remember(ticket, message_id=message.message_id)
    _reindex_after_commit(ticket)
    stored = _store_attachments(ticket, message, attachments)
    if "cid:" in html and any(a.content_id for a in stored):
        db.session.flush()  # the attachments' ids go into the HTML
        message.body_html = _link_inline_images(html, stored)
    if kind != INTERNAL_NOTE:
        ticket.last_activity_at = now
    for event in events:
        _system_event(ticket, None, event)
    return message


def _link_inline_images(html, stored):
    """Point cid: references at the stored attachments (served by the web app with access checks)."""
    by_cid = {a.content_id: a for a in stored if a.content_id}

    def replace(match):
        attachment = by_cid.get(match.group(2))
        return f'{match.group(1)}/attachments/{attachment.id}"' if attachment else match.group(0)

    return re.sub(r'(src=")cid:([^"]+)"', replace, html)


def _system_event(ticket, actor, event: dict):
    """A line in the thread saying what changed, kept as data (``event``) and rendered in the reader's
    language. ``actor`` None means the event is part of another change (e.g. a dropped attachment)."""
    message = Message(
        ticket=ticket, kind=SYSTEM_EVENT, author_id=getattr(actor, "id", None),
        author_name=getattr(actor, "full_name", None) or getattr(actor, "name", None),
        body_text=" ".join(f"{k}={v}" for k, v in event.items()), body_html="", source="system",
        message_id=None, event=event,
    )
    db.session.add(message)
    _reindex_after_commit(ticket)
    return message


def _set_status(ticket, actor, status):
    old = ticket.status
    if old == status:
        return
    ticket.status = status
    if status == CLOSED:
        ticket.closed_at = utcnow()
    elif old == CLOSED:
        ticket.closed_at = None
    sla.on_status_changed(ticket, old, status, utcnow())
    _system_event(ticket, actor, {"type": "status", "from": old, "to": status})
    audit.record(actor, "ticket", ticket, "status-changed", {"status": [old, status]})


def _add_cc(ticket, email, name="", known=None):
    """Add ``email`` as a CC unless it is on the ticket; ``known`` is a ``users_by_email`` result."""
    existing = next((p for p in ticket.participants if p.email == email), None)
    if existing is not None:
        return existing, False
    user = (known if known is not None else accounts.users_by_email([email])).get(email)
    participant = Participant(ticket=ticket, email=email, name=clean_name(name), role=CC, user=user)
    db.session.add(participant)
    return participant, True


_LOCKED_COLUMNS = ["subject", "status", "priority", "department_id", "assignee_id", "first_response_at",
                   "closed_at", "last_activity_at"]
_LOCKED_COLUMNS += ["first_response_due_at", "resolution_due_at", "sla_started_at", "sla_paused_at",
                    "sla_paused_minutes"]  # the SLA clocks (tickets/sla.py) change with the status


def _lock(ticket):
    """Re-read the ticket's columns under a row lock (one SELECT ... FOR UPDATE) so concurrent
    changes serialise instead of overwriting each other. SQLite has no row locks: there a transaction
    whose snapshot went stale is refused at its first write, so nothing is overwritten unseen."""
    if db.session.get_bind().dialect.name == "sqlite" or sa.inspect(ticket).pending:
        return
    locked = deferred_index(db.session, "locked_tickets")
    if locked is None:
        db.session.refresh(ticket, attribute_names=_LOCKED_COLUMNS, with_for_update=True)
    elif ticket.id not in locked:
        # A deferred batch may already hold unwritten changes to the ticket: lock without re-reading.
        locked[ticket.id] = True
        if sa.inspect(ticket).modified:
            db.session.execute(sa.select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
        else:
            db.session.refresh(ticket, attribute_names=_LOCKED_COLUMNS, with_for_update=True)


# --------------------------------------------------------------------------- public operations

def open_ticket(actor, *, subject, body_text="", body_html=None, requester_email=None, requester_name="",
                department=None, priority=NORMAL, cc=(), attachments=(), source="web", message_id=None,
                in_reply_to=None, acknowledge=True, linked_ticket=None, events=(),
                privacy_consent=None) -> Ticket:
    """Open a ticket with its first message.

    A customer opens tickets for themselves; agents and the system open them for ``requester_email``
    (a customer record is created for an unknown address). The requester and CCs get an
    acknowledgement with the ticket number unless ``acknowledge`` is false (e.g. for auto-replies).
    ``linked_ticket`` marks it as a follow-up of an earlier ticket; ``events`` are system events
    (dicts) recorded with it, such as a note that an attachment was dropped. ``privacy_consent`` is
    the version of the privacy policy a guest agreed to on the form; it is stored on the requester.
    On the guest form (actor GUEST_FORM) the address of a registered customer or agent opens the ticket
    unconfirmed: it is not in their list nor written by them (nor is their consent record touched) until they
    confirm it by the link in the acknowledgement (tickets/requester_confirmation.py)."""
    errors = {}
    subject = _clean_subject(errors, subject)
    text, html = _clean_body(errors, body_text, body_html)
    priority = _check_priority(errors, priority)
    department = _check_department(errors, department)
    source = _check_source(errors, source)
    attachments = _check_attachments(errors, attachments)
    if actor.is_customer:
        requester_email, requester_name = actor.email, requester_name or actor.full_name
    elif not (actor.is_agent or actor.is_system):
        raise NotAllowed()
    requester_email = accounts.check_email(errors, "requester_email", requester_email or "")
    cc = _check_cc_list(errors, cc, exclude={requester_email})
    if errors:
        raise ValidationFailed(errors)

    known = accounts.users_by_email([requester_email, *cc])
    number = next_value(db.session, "ticket_number", current_app.config["TICKET_NUMBER_START"])
    requester = accounts.find_or_create_customer(requester_email, requester_name, known=known)
    # A guest typing a registered user's address speaks for no one until the address owner confirms.
    unconfirmed = requester_confirmation.needs_confirmation(actor, requester)
    now = utcnow()
    if privacy_consent and not unconfirmed and requester.consent_policy_version != privacy_consent:
        requester.consent_at, requester.consent_policy_version = now, str(privacy_consent)[:40]
    ticket = Ticket(
        number=number, subject=subject, status=OPEN, priority=priority, department=department,
        requester=requester, organisation_id=None if unconfirmed else requester.organisation_id, source=source,
        linked_ticket=linked_ticket, created_at=now, updated_at=now, last_activity_at=now,
        requester_unconfirmed=unconfirmed,
    )
    sla.on_opened(ticket, now)
    db.session.add(ticket)
    reply_matching.remember(ticket, number=number)
    db.session.add(Participant(ticket=ticket, email=requester.email, name=requester.full_name,
                               role=REQUESTER, user=requester))
    for email in cc:
        _add_cc(ticket, email, known=known)
    author = actor if actor.is_customer else (None if unconfirmed else requester)
    message = _add_message(
        ticket, kind=CUSTOMER_MESSAGE, author=author, text=text, html=html, source=source,
        message_id=message_id, in_reply_to=in_reply_to, attachments=attachments, author_email=requester.email,
        author_name=requester_name if unconfirmed else (requester_name or requester.full_name), events=events,
    )
    if linked_ticket is not None:
        _system_event(ticket, actor, {"type": "linked", "number": linked_ticket.number})
    audit.record(actor, "ticket", ticket, "opened", {"number": ticket.number, "source": source})
    if acknowledge:
        notifications.acknowledge_new_ticket(ticket, message, new_ticket=True)
    commit_service_call(db.session)
    return ticket


def add_customer_message(actor, ticket, *, body_text="", body_html=None, attachments=(), source="web",
                         message_id=None, in_reply_to=None, author_email=None, author_name=None,
                         events=(), cc=()) -> Message:
    """Add a message from the customer side (the requester, a CC, or the system on their behalf).

    A message on an answered, waiting or closed ticket sets it back to open. ``cc`` adds addresses
    the customer copied in as participants in the same change."""
    access.require(actor, ticket, "reply")
    errors = {}
    cc = _check_cc_list(errors, cc)
    text, html = _clean_body(errors, body_text, body_html)
    source = _check_source(errors, source)
    attachments = _check_attachments(errors, attachments)
    if errors:
        raise ValidationFailed(errors)
    _lock(ticket)
    message = _add_message(
        ticket, kind=CUSTOMER_MESSAGE, author=actor if actor.is_customer else None, text=text, html=html,
        source=source, message_id=message_id, in_reply_to=in_reply_to, attachments=attachments,
        author_email=author_email, author_name=author_name, events=events,
    )
    known = accounts.users_by_email(cc) if cc else {}
    for email in cc:
        if _add_cc(ticket, email, known=known)[1]:
            _system_event(ticket, actor, {"type": "cc-added", "email": email})
    if ticket.status in (ANSWERED, WAITING, CLOSED):
        _set_status(ticket, actor, OPEN)
    audit.record(actor, "ticket", ticket, "customer-message", {"message": message})
    commit_service_call(db.session)
    return message


def add_agent_reply(actor, ticket, *, body_text="", body_html=None, attachments=(), status=_UNSET,
                    source="web", message_id=None, in_reply_to=None, events=()) -> Message:
    """Reply to the customer: emailed to the requester and every CC.

    Sets the status to ``status`` (default: answered, or left closed on a closed ticket) and the
    first-response time on the first reply."""
    access.require(actor, ticket, "agent_reply")
    errors = {}
    text, html = _clean_body(errors, body_text, body_html)
    source = _check_source(errors, source)
    attachments = _check_attachments(errors, attachments)
    if status is not _UNSET and status not in STATUSES:
        errors["status"] = _l("Choose a valid status.")
    if errors:
        raise ValidationFailed(errors)
    _lock(ticket)
    signature = (ticket.department.signature if ticket.department else "") or ""
    if signature.strip():
        text = f"{text}\n\n-- \n{signature.strip()}"
        html = f"{html}<p>-- <br>{text_to_html(signature.strip())[3:-4]}</p>"
    message = _add_message(ticket, kind=AGENT_REPLY, author=actor, text=text, html=html, source=source,
                           message_id=message_id, in_reply_to=in_reply_to, attachments=attachments,
                           events=events)
    if ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        sla.on_first_response(ticket)
    if status is _UNSET:
        status = CLOSED if ticket.status == CLOSED else ANSWERED
    _set_status(ticket, actor, status)
    audit.record(actor, "ticket", ticket, "agent-reply", {"message": message})
    notifications.agent_replied(ticket, message)
    commit_service_call(db.session)
    return message


def add_internal_note(actor, ticket, *, body_text="", body_html=None, attachments=(), source="web") -> Message:
    """An agents-only note: never emailed, never shown to customers, does not change the status."""
    access.require(actor, ticket, "note")
    errors = {}
    text, html = _clean_body(errors, body_text, body_html)
    source = _check_source(errors, source)
    attachments = _check_attachments(errors, attachments)
    if errors:
        raise ValidationFailed(errors)
    message = _add_message(ticket, kind=INTERNAL_NOTE, author=actor, text=text, html=html, source=source,
                           attachments=attachments)
    audit.record(actor, "ticket", ticket, "internal-note", {"message": message})
    commit_service_call(db.session)
    return message


def usable_addresses(addresses) -> tuple[list[str], list[dict]]:
    """Split addresses taken from mail into those the ticket store accepts (normalised) and "cc-dropped"
    events for the rest. Mail is not a web form: an unusable Cc (``alice@intern``, a bare name) must not
    hold back the ticket, and the ticket says which were left out and why."""
    kept, dropped = [], []
    for address in addresses:
        try:
            normal = accounts.normalise_email(address)
        except InvalidAddress as exc:
            dropped.append({"type": "cc-dropped", "email": strip_control(address)[:320], "kind": exc.kind,
                            "detail": str(exc)[:300]})
            continue
        if normal not in kept:
            kept.append(normal)
    return kept, dropped


def add_participants(actor, ticket, addresses) -> list[Participant]:
    """Add CC addresses (all validated first); they receive later replies. Existing ones are kept."""
    access.require(actor, ticket, "cc")
    errors = {}
    if isinstance(addresses, str):
        addresses = [a for a in re.split(r"[,;\s]+", addresses) if a]
    emails = _check_cc_list(errors, addresses)
    if not emails and not errors:
        errors["cc"] = _l("Enter at least one email address.")
    if errors:
        raise ValidationFailed(errors)
    added = []
    known = accounts.users_by_email(emails)
    for email in emails:
        participant, created = _add_cc(ticket, email, known=known)
        if created:
            added.append(participant)
            _system_event(ticket, actor, {"type": "cc-added", "email": email})
    if added:
        audit.record(actor, "ticket", ticket, "cc-added", {"emails": [p.email for p in added]})
    commit_service_call(db.session)
    return added


def add_participant(actor, ticket, email) -> Participant:
    """Add one CC address (see ``add_participants``)."""
    added = add_participants(actor, ticket, [email])
    return added[0] if added else next(p for p in ticket.participants if p.email == email.strip().lower())


def remove_participant(actor, ticket, email) -> None:
    """Remove a CC address. The requester cannot be removed."""
    access.require(actor, ticket, "cc")
    email = (email or "").strip().lower()
    participant = next((p for p in ticket.participants if p.email == email), None)
    if participant is None:
        raise ValidationFailed({"cc": _l("%(address)s is not on this ticket.", address=email[:100])})
    if participant.role == REQUESTER:
        raise ValidationFailed({"cc": _l("The requester cannot be removed.")})
    ticket.participants.remove(participant)
    _system_event(ticket, actor, {"type": "cc-removed", "email": email})
    audit.record(actor, "ticket", ticket, "cc-removed", {"email": email})
    commit_service_call(db.session)


def update_ticket(actor, ticket, *, subject=_UNSET, priority=_UNSET, department=_UNSET, status=_UNSET,
                  assignee=_UNSET) -> Ticket:
    """Change any of subject, priority, department, status and assignee at once (all validated first).

    Customers may change subject, priority and department of their tickets; status and assignee are
    for agents. The assignee must be an agent (or None to unassign)."""
    changes = {}
    errors = {}
    if subject is not _UNSET:
        access.require(actor, ticket, "edit")
        changes["subject"] = _clean_subject(errors, subject)
    if priority is not _UNSET:
        access.require(actor, ticket, "edit")
        changes["priority"] = _check_priority(errors, priority)
    if department is not _UNSET:
        access.require(actor, ticket, "edit")
        changes["department"] = _check_department(errors, department)
    if status is not _UNSET:
        access.require(actor, ticket, "status")
        if status not in STATUSES:
            errors["status"] = _l("Choose a valid status.")
        changes["status"] = status
    if assignee is not _UNSET:
        access.require(actor, ticket, "assign")
        if assignee is not None and not isinstance(assignee, User):
            assignee = db.session.get(User, parse_id(assignee)) if parse_id(assignee) is not None else None
            if assignee is None:
                errors["assignee"] = _l("Choose a valid agent.")
        if assignee is not None and not assignee.is_agent:
            errors["assignee"] = _l("Only agents can be assigned.")
        changes["assignee"] = assignee
    if not changes:
        access.require(actor, ticket, "edit")
        raise ValidationFailed({"ticket": _l("Nothing to change.")})
    if errors:
        raise ValidationFailed(errors)
    _lock(ticket)
    recorded = {}
    if "subject" in changes and changes["subject"] != ticket.subject:
        recorded["subject"] = [ticket.subject, changes["subject"]]
        ticket.subject = changes["subject"]
        _reindex_after_commit(ticket)  # the only change that records no system event
    if "priority" in changes and changes["priority"] != ticket.priority:
        recorded["priority"] = [ticket.priority, changes["priority"]]
        _system_event(ticket, actor, {"type": "priority", "from": ticket.priority, "to": changes["priority"]})
        ticket.priority = changes["priority"]
    if "department" in changes and changes["department"] is not ticket.department:
        new = changes["department"]
        recorded["department"] = [ticket.department_id, new.id if new else None]
        _system_event(ticket, actor, {"type": "department", "from": ticket.department.name if ticket.department
                                      else "", "to": new.name if new else ""})
        ticket.department = new
    if "priority" in recorded or "department" in recorded:
        sla.on_changed(ticket, utcnow())
    if "assignee" in changes and changes["assignee"] is not ticket.assignee:
        new = changes["assignee"]
        recorded["assignee"] = [ticket.assignee_id, new.id if new else None]
        _system_event(ticket, actor, {"type": "assignee", "to": new.display_name if new else ""})
        ticket.assignee = new
    if recorded:
        audit.record(actor, "ticket", ticket, "changed", recorded)
    if "status" in changes:
        was_closed = ticket.status == CLOSED
        _set_status(ticket, actor, changes["status"])
        if ticket.status == CLOSED and not was_closed:
            notifications.ticket_closed(ticket)
    commit_service_call(db.session)
    return ticket


def change_subject(actor, ticket, subject):
    return update_ticket(actor, ticket, subject=subject)


def change_priority(actor, ticket, priority):
    return update_ticket(actor, ticket, priority=priority)


def change_department(actor, ticket, department):
    return update_ticket(actor, ticket, department=department)


def change_status(actor, ticket, status):
    return update_ticket(actor, ticket, status=status)


def assign(actor, ticket, agent):
    """Assign ``ticket`` to ``agent`` (a User who is an agent), or unassign with None."""
    return update_ticket(actor, ticket, assignee=agent)


def close(actor, ticket) -> Ticket:
    """Close the ticket (its requester, a CC customer, or an agent)."""
    access.require(actor, ticket, "close")
    if ticket.status == CLOSED:
        raise Conflict(_l("This ticket is already closed."))
    _lock(ticket)
    _set_status(ticket, actor, CLOSED)
    notifications.ticket_closed(ticket)
    commit_service_call(db.session)
    return ticket


def reopen(actor, ticket) -> Ticket:
    """Reopen a closed ticket."""
    access.require(actor, ticket, "reopen")
    if ticket.status != CLOSED:
        raise Conflict(_l("This ticket is not closed."))
    _lock(ticket)
    _set_status(ticket, actor, OPEN)
    commit_service_call(db.session)
    return ticket


def record_events(actor, ticket, events) -> None:
    """Add system events to the thread without any other change (a bounce, an auto-reply received).
    The system and agents only."""
    access.require_agent(actor)
    access.require(actor, ticket, "note")
    if not events or not all(isinstance(e, dict) and e.get("type") for e in events):
        raise ValidationFailed({"events": _l("Nothing to record.")})
    for event in events:
        _system_event(ticket, actor, event)
    audit.record(actor, "ticket", ticket, "events", {"types": [e["type"] for e in events]})
    commit_service_call(db.session)


def change_customer_email(actor, user, email) -> User:
    """Give a customer a new email address. Agents and admins only (customers cannot change their own).
    The address must be free; the customer's place on their tickets moves to it, so replies reach it."""
    if not (actor.is_system or actor.is_agent):
        raise NotAllowed()
    errors = {}
    new = accounts.check_email(errors, "email", email)
    if new and new != user.email and accounts.users_by_email([new]):
        errors["email"] = _l("A user with this email address already exists.")
    if errors:
        raise ValidationFailed(errors)
    old = user.email
    if new != old:
        user.email = new
        db.session.execute(sa.update(Participant).where(Participant.user_id == user.id).values(email=new))
        for ticket_id in db.session.scalars(sa.select(Participant.ticket_id).where(Participant.user_id == user.id)):
            enqueue_after_commit_batched(REINDEX_TASK, ticket_id, queue="search")  # their entries list the address
        audit.record(actor, "user", user.id, "email-changed", {"email": [old, new]})
    commit_service_call(db.session)
    return user


BULK_DONE, BULK_NOT_ALLOWED, BULK_INVALID = "done", "not_allowed", "invalid"
BULK_MAX = 250


@dataclass(frozen=True)
class BulkResult:
    """What a bulk change did to one ticket: ``outcome`` is BULK_DONE, BULK_NOT_ALLOWED or BULK_INVALID."""

    number: int
    outcome: str
    reason: str = ""


_close_ticket = close  # bulk_update's ``close`` argument shadows the function


def bulk_update(actor, numbers, *, status=_UNSET, priority=_UNSET, department=_UNSET, assignee=_UNSET,
                close=False) -> list[BulkResult]:
    """Apply one change (``update_ticket``'s fields and/or closing) to each ticket in ``numbers``.

    Agents and the system only; the change is validated once up front. All tickets change in one
    transaction, each in its own savepoint, so a ticket the actor may not see or change, or one the
    change does not fit (already closed), is reported and left as it was while the others change."""
    access.require_agent(actor)
    errors = {}
    numbers, wanted = list(numbers or ()), []
    # The limit first: a form with 100,000 ticket numbers is refused before any is read.
    if len(numbers) > BULK_MAX:
        errors["tickets"] = _l("Select at most %(num)d tickets at once.", num=BULK_MAX)
    else:
        wanted = list(dict.fromkeys(parse_id(raw) for raw in numbers))  # duplicates dropped in linear time
        if None in wanted:
            errors["tickets"] = _l("Choose tickets from the list.")
        elif not wanted:
            errors["tickets"] = _l("Select at least one ticket.")
    changes = {name: value for name, value in
               (("status", status), ("priority", priority), ("department", department), ("assignee", assignee))
               if value is not _UNSET}
    if "status" in changes and changes["status"] not in STATUSES:
        errors["status"] = _l("Choose a valid status.")
    if "priority" in changes:
        _check_priority(errors, changes["priority"])
    if "department" in changes:
        changes["department"] = _check_department(errors, changes["department"])
    if changes.get("assignee") is not None and not isinstance(changes["assignee"], User):
        assignee_id = parse_id(changes["assignee"])
        found = db.session.get(User, assignee_id) if assignee_id is not None else None
        if found is None or not found.is_agent:
            errors["assignee"] = _l("Choose a valid agent.")
        changes["assignee"] = found
    if not changes and not close:
        errors["action"] = _l("Choose a change to make.")
    if errors:
        raise ValidationFailed(errors)

    results = []
    with batch(db.session):
        for number in wanted:
            try:
                with db.session.begin_nested():
                    ticket = access.get_ticket(actor, number)
                    if changes:
                        update_ticket(actor, ticket, **changes)
                    if close:
                        _close_ticket(actor, ticket)
            except (NotFound, NotAllowed) as exc:
                results.append(BulkResult(number, BULK_NOT_ALLOWED, str(exc.message)))
            except ValidationFailed as exc:
                results.append(BulkResult(number, BULK_INVALID, "; ".join(str(m) for m in exc.errors.values())))
            except Conflict as exc:
                results.append(BulkResult(number, BULK_INVALID, str(exc.message)))
            else:
                results.append(BulkResult(number, BULK_DONE))
    return results


# --------------------------------------------------------------------------- departments

SIGNATURE_MAX = 5000


def _check_department_fields(errors, department, name, inbound_address, reply_from_address, signature):
    """A department's cleaned columns. The name is required and unique; the addresses are optional and valid,
    and no two departments receive at one inbound address (mail would not know its department)."""
    others = sa.select(Department.id)
    if department is not None:
        others = others.where(Department.id != department.id)
    name = clean_name(name, limit=100)  # the column's length; PostgreSQL refuses longer
    if not name:
        errors["name"] = _l("Enter a name.")
    elif db.session.scalar(others.where(Department.name == name)):
        errors["name"] = _l("A department with this name already exists.")
    fields = {"name": name}
    for field, value in (("inbound_address", inbound_address), ("reply_from_address", reply_from_address)):
        fields[field] = accounts.check_email(errors, field, value) if (value or "").strip() else None
    if fields["inbound_address"] and db.session.scalar(
            others.where(sa.func.lower(Department.inbound_address) == fields["inbound_address"])):
        errors["inbound_address"] = _l("Another department already receives mail at this address.")
    fields["signature"] = strip_control(signature or "").strip()
    if len(fields["signature"]) > SIGNATURE_MAX:
        errors["signature"] = _l("Use at most %(num)d characters.", num=SIGNATURE_MAX)
    return fields


def create_department(actor, *, name, inbound_address=None, reply_from_address=None, signature="") -> Department:
    """Create a department (admins and the system)."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    errors = {}
    fields = _check_department_fields(errors, None, name, inbound_address, reply_from_address, signature)
    if errors:
        raise ValidationFailed(errors)
    name = fields["name"]
    department = Department(**fields)
    db.session.add(department)
    db.session.flush()
    audit.record(actor, "department", department.id, "created", {"name": name})
    commit_service_call(db.session)
    return department


def add_agent_to_department(actor, department, agent) -> None:
    """Make ``agent`` a member of ``department`` (admins and the system)."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    if not agent.is_agent:
        raise ValidationFailed({"agent": _l("Only agents can join departments.")})
    if agent not in department.agents:
        department.agents.append(agent)
        audit.record(actor, "department", department.id, "agent-added", {"agent": agent.id})
    commit_service_call(db.session)


# --------------------------------------------------------------------------- requester and organisation

def change_requester(actor, ticket, user, name="") -> Ticket:
    """Make a customer the ticket's requester (agents only). ``user`` is a User or an email address; an
    unknown address gets a new customer record. The previous requester stays on the ticket in copy, and the
    ticket takes the new requester's organisation. Staff accounts cannot be requesters."""
    access.require_agent(actor)
    access.require(actor, ticket, "edit")
    errors = {}
    if not isinstance(user, User):
        email = accounts.check_email(errors, "requester", user)
        if email:
            user = accounts.users_by_email([email]).get(email) or email
    if isinstance(user, User) and not user.is_customer:
        errors["requester"] = _l("%(email)s is a staff account; only customers can be requesters.",
                                 email=user.email)
    if errors:
        raise ValidationFailed(errors)
    if isinstance(user, str):
        user = accounts.find_or_create_customer(user, name)
        db.session.flush()
    old = ticket.requester
    if user.id == old.id:
        raise ValidationFailed({"requester": _l("%(email)s is already the requester.", email=user.email)})
    _lock(ticket)
    for participant in ticket.participants:
        if participant.role == REQUESTER:
            participant.role = CC
    joined = next((p for p in ticket.participants if p.email == user.email), None)
    if joined is None:
        db.session.add(Participant(ticket=ticket, email=user.email, name=user.full_name, role=REQUESTER, user=user))
    else:
        joined.role, joined.user = REQUESTER, user
    ticket.requester = user
    if user.organisation_id != ticket.organisation_id:
        ticket.organisation = user.organisation
    _system_event(ticket, actor, {"type": "requester", "from": old.email, "to": user.email})
    audit.record(actor, "ticket", ticket.id, "requester-changed", {"requester": [old.id, user.id]})
    commit_service_call(db.session)
    return ticket


def find_organisation(query):
    """The organisation whose customer number is ``query``, else the one of that name (any case); None
    when there is none, ValidationFailed when several share the name."""
    query = " ".join((query or "").split())
    if not query:
        return None
    found = db.session.scalar(sa.select(Organisation).where(Organisation.customer_number == query))
    if found is not None:
        return found
    named = db.session.scalars(sa.select(Organisation).where(sa.func.lower(Organisation.name) == query.lower())
                               .limit(2)).all()
    if len(named) > 1:
        raise ValidationFailed({"organisation": _l(
            "Several organisations are called %(name)s; enter the customer number instead.", name=query[:100])})
    return named[0] if named else None


def set_organisation(actor, ticket, organisation) -> Ticket:
    """Link the ticket to an organisation (agents only): an Organisation, or its customer number or name;
    None or "" unlinks it. A requester who belongs to no organisation yet joins this one."""
    access.require_agent(actor)
    access.require(actor, ticket, "edit")
    if organisation not in (None, "") and not isinstance(organisation, Organisation):
        query = str(organisation)
        organisation = find_organisation(query)
        if organisation is None:
            raise ValidationFailed({"organisation": _l(
                "No organisation has the name or customer number %(query)s.", query=query.strip()[:100])})
    organisation = organisation or None
    old = ticket.organisation
    if organisation is old:
        raise ValidationFailed({"organisation": _l("The ticket already has this organisation.")})
    _lock(ticket)
    ticket.organisation = organisation
    _system_event(ticket, actor, {"type": "organisation", "from": old.name if old else "",
                                  "to": organisation.name if organisation else ""})
    audit.record(actor, "ticket", ticket.id, "organisation-changed",
                 {"organisation": [old.id if old else None, organisation.id if organisation else None]})
    requester = ticket.requester
    if organisation is not None and requester.organisation_id is None:
        requester.organisation = organisation
        audit.record(actor, "user", requester.id, "organisation-linked", {"organisation": organisation.id})
    commit_service_call(db.session)
    return ticket


def update_department(actor, department, *, name, inbound_address=None, reply_from_address=None,
                      signature="") -> Department:
    """Change a department's name, addresses and signature (admins and the system; validated as on creation)."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    errors = {}
    fields = _check_department_fields(errors, department, name, inbound_address, reply_from_address, signature)
    if errors:
        raise ValidationFailed(errors)
    changes = {}
    for column, value in fields.items():
        if getattr(department, column) != value:
            changes[column] = [getattr(department, column), value] if column != "signature" else True
            setattr(department, column, value)
    if changes:
        audit.record(actor, "department", department.id, "changed", changes)
    commit_service_call(db.session)
    return department
