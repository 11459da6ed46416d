"""Every change to a ticket, one function each, called by every door (web, mail gateway, CLI, API).
Each public function validates all its input first (raising ValidationFailed with every field error),
checks the actor's permission, changes the store, writes audit rows and outbox mail, and commits once.
Departments are in tickets/departments.py, requester and organisation changes in tickets/customers.py;
the steps these operations share are in tickets/checks.py (input) and tickets/changes.py (writes)."""
import re

from flask import current_app

from helpdesk import audit
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.db import commit_service_call, next_value, utcnow
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.notify.addresses import InvalidAddress
from helpdesk.sanitize import strip_control, text_to_html
from helpdesk.tickets import (
    access,
    assignment,
    device_gate,
    notifications,
    presence,
    reply_matching,
    requester_confirmation,
    sla,
    ticket_accounts,
)
from helpdesk.tickets import details as ticket_details
from helpdesk.tickets.changes import add_cc, add_message, announce, lock, set_status, system_event
from helpdesk.tickets.checks import SUBJECT_MAX as SUBJECT_MAX  # the mail gateway cuts subjects to it
from helpdesk.tickets.checks import NewAttachment as NewAttachment  # the doors build the operations' files
from helpdesk.tickets.checks import (
    check_attachments,
    check_body,
    check_cc_list,
    check_department,
    check_priority,
    check_source,
    check_status,
    check_subject,
    find_user,
)

# Lives in tickets/customers.py; named here for the CLI's `user set-email` until that imports it from there.
from helpdesk.tickets.models import (
    AGENT_REPLY,
    ANSWERED,
    CLOSED,
    CUSTOMER_MESSAGE,
    INTERNAL_NOTE,
    NORMAL,
    OPEN,
    REQUESTER,
    WAITING,
    Message,
    Participant,
    Ticket,
)

_UNSET = object()


# --------------------------------------------------------------------------- opening a ticket

def _check_requester(errors, actor, requester_email, requester_name):
    """A customer opens tickets for themselves; agents and the system for any address."""
    if actor.is_customer:
        requester_email, requester_name = actor.email, requester_name or actor.full_name
    elif not (actor.is_agent or actor.is_system):
        raise NotAllowed()
    return accounts.check_email(errors, "requester_email", requester_email or ""), requester_name


def _record_consent(requester, privacy_consent, unconfirmed, now):
    if privacy_consent and not unconfirmed and requester.consent_policy_version != privacy_consent:
        requester.consent_at, requester.consent_policy_version = now, str(privacy_consent)[:40]


def _new_ticket(*, number, subject, priority, department, requester, unconfirmed, source, linked_ticket, now,
                batch, customer_account=None):
    """The ticket row with its running SLA clocks and its requester as the first participant."""
    ticket = Ticket(
        number=number, subject=subject, status=OPEN, priority=priority, department=department,
        requester=requester, organisation_id=None if unconfirmed else requester.organisation_id, source=source,
        customer_account=customer_account,
        linked_ticket=linked_ticket, created_at=now, updated_at=now, last_activity_at=now,
        requester_unconfirmed=unconfirmed,
    )
    sla.on_opened(ticket, now)
    db.session.add(ticket)
    reply_matching.remember(ticket, number=number, batch=batch)
    db.session.add(Participant(ticket=ticket, email=requester.email, name=requester.full_name,
                               role=REQUESTER, user=requester))
    return ticket


def open_ticket(actor, *, subject, body_text="", body_html=None, requester_email=None, requester_name="",
                department=None, priority=NORMAL, cc=(), attachments=(), source="web", message_id=None,
                in_reply_to=None, acknowledge=True, linked_ticket=None, events=(),
                privacy_consent=None, details=None, batch=None) -> Ticket:
    """Open a ticket with its first message.

    A customer opens tickets for themselves; agents and the system open them for ``requester_email``
    (a customer record is created for an unknown address). The requester and CCs get an
    acknowledgement with the ticket number unless ``acknowledge`` is false (e.g. for auto-replies).
    ``linked_ticket`` marks it as a follow-up of an earlier ticket; ``events`` are system events
    (dicts) recorded with it, such as a note that an attachment was dropped. ``privacy_consent`` is
    the version of the privacy policy a guest agreed to on the form; it is stored on the requester.
    ``details`` are the facts given with it (reference, server IP, problem start, diagnostics, service...),
    checked and stored by tickets/details.py; a ``device`` among them must pass the devices package's gate
    (tickets/device_gate.py: refused with its reason, or opened awaiting staff approval) and is linked.
    On the guest form (actor GUEST_FORM) the address of a registered customer or agent opens the ticket
    unconfirmed: it is not in their list nor written by them (nor is their consent record touched) until they
    confirm it by the link in the acknowledgement (tickets/requester_confirmation.py). ``batch`` is the
    ``helpdesk.db.Batch`` the caller runs this call in, if any (the mail gateway's). The ticket belongs to the
    customer account the customer acts for (their membership must allow tickets), or the requester's default
    account when someone else opens it for them; guests' tickets to none."""
    errors = {}
    subject = check_subject(errors, subject)
    text, html = check_body(errors, body_text, body_html)
    priority = check_priority(errors, priority)
    department = check_department(errors, department)
    source = check_source(errors, source)
    attachments = check_attachments(errors, attachments)
    requester_email, requester_name = _check_requester(errors, actor, requester_email, requester_name)
    acting = ticket_accounts.acting_account(actor)
    cc = check_cc_list(errors, cc, exclude={requester_email})
    facts = ticket_details.check_details(errors, details, customer=actor if actor.is_customer else None)
    device = device_gate.check_device(errors, actor, acting.id if acting is not None else None,
                                      (details or {}).get("device"))
    if errors:
        raise ValidationFailed(errors)

    known = accounts.users_by_email([requester_email, *cc], batch)
    number = next_value(db.session, "ticket_number", current_app.config["TICKET_NUMBER_START"])
    requester = accounts.find_or_create_customer(requester_email, requester_name, known=known, batch=batch)
    # A guest typing a registered user's address speaks for no one until the address owner confirms.
    unconfirmed = requester_confirmation.needs_confirmation(actor, requester)
    now = utcnow()
    _record_consent(requester, privacy_consent, unconfirmed, now)
    ticket = _new_ticket(number=number, subject=subject, priority=priority, department=department,
                         requester=requester, unconfirmed=unconfirmed, source=source, linked_ticket=linked_ticket,
                         now=now, batch=batch,
                         customer_account=ticket_accounts.account_for_new_ticket(actor, requester, unconfirmed,
                                                                                  acting))
    ticket_details.attach_details(ticket, facts)
    device_gate.link_new_ticket(actor, ticket, device)
    announce("ticket.created", ticket, batch, source=source)
    for email in cc:
        add_cc(ticket, email, known=known)
    author = actor if actor.is_customer else (None if unconfirmed else requester)
    message = add_message(
        ticket, kind=CUSTOMER_MESSAGE, author=author, text=text, html=html, source=source,
        message_id=message_id, in_reply_to=in_reply_to, attachments=attachments, author_email=requester.email,
        author_name=requester_name if unconfirmed else (requester_name or requester.full_name), events=events,
        batch=batch,
    )
    if linked_ticket is not None:
        system_event(ticket, actor, {"type": "linked", "number": linked_ticket.number})
    audit.record(actor, "ticket", ticket, "opened", {"number": ticket.number, "source": source})
    if acknowledge:
        notifications.acknowledge_new_ticket(ticket, message, new_ticket=True, batch=batch)
    commit_service_call(db.session)
    return ticket


# --------------------------------------------------------------------------- messages and participants

def add_customer_message(actor, ticket, *, body_text="", body_html=None, attachments=(), source="web",
                         message_id=None, in_reply_to=None, author_email=None, author_name=None,
                         events=(), cc=(), batch=None) -> Message:
    """Add a message from the customer side (the requester, a CC, or the system on their behalf).

    A message on an answered, waiting or closed ticket sets it back to open. ``cc`` adds addresses
    the customer copied in as participants in the same change. A merged ticket takes no messages
    (TicketMerged): mail to it is routed to the ticket it was merged into (reply_matching.follow_merges)."""
    access.require(actor, ticket, "reply")
    if ticket.merged_into_id is not None:
        raise TicketMerged()
    errors = {}
    cc = check_cc_list(errors, cc)
    text, html = check_body(errors, body_text, body_html)
    source = check_source(errors, source)
    attachments = check_attachments(errors, attachments)
    if errors:
        raise ValidationFailed(errors)
    lock(ticket, batch)
    message = add_message(
        ticket, kind=CUSTOMER_MESSAGE, author=actor if actor.is_customer else None, text=text, html=html,
        source=source, message_id=message_id, in_reply_to=in_reply_to, attachments=attachments,
        author_email=author_email, author_name=author_name, events=events, batch=batch,
    )
    known = accounts.users_by_email(cc, batch) if cc else {}
    for email in cc:
        if add_cc(ticket, email, known=known)[1]:
            system_event(ticket, actor, {"type": "cc-added", "email": email})
    if ticket.status in (ANSWERED, WAITING, CLOSED):
        set_status(ticket, actor, OPEN)
    audit.record(actor, "ticket", ticket, "customer-message", {"message": message})
    commit_service_call(db.session)
    return message


class TicketMerged(Conflict):
    """The ticket was merged into another one: its conversation continues there."""

    message = _l("This ticket was merged into another ticket and takes no more replies. Reply on that ticket.")


class ReplyCollision(Conflict):
    """Messages arrived on the ticket after the ones the agent had seen when they started writing."""

    message = _l("New messages arrived while you were writing. Read them, then send your reply again.")

    def __init__(self, newer):
        super().__init__()
        self.newer = newer


def add_agent_reply(actor, ticket, *, body_text="", body_html=None, attachments=(), status=_UNSET,
                    source="web", message_id=None, in_reply_to=None, events=(), seen_up_to=None,
                    batch=None) -> Message:
    """Reply to the customer: emailed to the requester and every CC.

    Sets the status to ``status`` (default: answered, or left closed on a closed ticket) and the
    first-response time on the first reply. With ``seen_up_to`` (the newest message id the agent had seen
    when they started writing), ReplyCollision when a customer or another agent wrote since: any door that
    shows the thread before a reply (console, API, chat) gets the same check."""
    access.require(actor, ticket, "agent_reply")
    if seen_up_to is not None and (newer := presence.messages_since(actor, ticket, seen_up_to)):
        raise ReplyCollision(newer)
    errors = {}
    text, html = check_body(errors, body_text, body_html)
    source = check_source(errors, source)
    attachments = check_attachments(errors, attachments)
    if status is not _UNSET:
        check_status(errors, status)
    if errors:
        raise ValidationFailed(errors)
    lock(ticket, batch)
    signature = (ticket.department.signature if ticket.department else "") or ""
    if signature.strip():
        text = f"{text}\n\n-- \n{signature.strip()}"
        html = f"{html}<p>-- <br>{text_to_html(signature.strip())[3:-4]}</p>"
    message = add_message(ticket, kind=AGENT_REPLY, author=actor, text=text, html=html, source=source,
                           message_id=message_id, in_reply_to=in_reply_to, attachments=attachments,
                           events=events, batch=batch)
    if ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        sla.on_first_response(ticket)
    if status is _UNSET:
        status = CLOSED if ticket.status == CLOSED else ANSWERED
    set_status(ticket, actor, status)
    audit.record(actor, "ticket", ticket, "agent-reply", {"message": message})
    notifications.agent_replied(ticket, message, batch=batch)
    commit_service_call(db.session)
    return message


def add_internal_note(actor, ticket, *, body_text="", body_html=None, attachments=(), source="web") -> Message:
    """An agents-only note: never emailed, never shown to customers, does not change the status."""
    access.require(actor, ticket, "note")
    errors = {}
    text, html = check_body(errors, body_text, body_html)
    source = check_source(errors, source)
    attachments = check_attachments(errors, attachments)
    if errors:
        raise ValidationFailed(errors)
    message = add_message(ticket, kind=INTERNAL_NOTE, author=actor, text=text, html=html, source=source,
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
    emails = check_cc_list(errors, addresses)
    if not emails and not errors:
        errors["cc"] = _l("Enter at least one email address.")
    if errors:
        raise ValidationFailed(errors)
    added = []
    known = accounts.users_by_email(emails)
    for email in emails:
        participant, created = add_cc(ticket, email, known=known)
        if created:
            added.append(participant)
            system_event(ticket, actor, {"type": "cc-added", "email": email})
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
    system_event(ticket, actor, {"type": "cc-removed", "email": email})
    audit.record(actor, "ticket", ticket, "cc-removed", {"email": email})
    commit_service_call(db.session)


# --------------------------------------------------------------------------- changing a ticket's fields

def _check_assignee(errors, assignee):
    """An agent (a User or a user id), or None to unassign."""
    if assignee is not None and not isinstance(assignee, User):
        assignee = find_user(assignee)
        if assignee is None:
            errors["assignee"] = _l("Choose a valid agent.")
    if assignee is not None and not assignee.is_agent:
        errors["assignee"] = _l("Only agents can be assigned.")
    return assignee


# Each field update_ticket changes: the permission it needs and the rule that cleans it (in this order).
_FIELD_RULES = {
    "subject": ("edit", check_subject),
    "priority": ("edit", check_priority),
    "department": ("edit", check_department),
    "status": ("status", check_status),
    "assignee": ("assign", _check_assignee),
}


def _check_update(actor, ticket, wanted):
    """The cleaned changes; NotAllowed for a field the actor may not change, ValidationFailed for the rest."""
    changes, errors = {}, {}
    for field, value in wanted.items():
        permission, check = _FIELD_RULES[field]
        access.require(actor, ticket, permission)
        changes[field] = check(errors, value)
    if not changes:
        access.require(actor, ticket, "edit")
        raise ValidationFailed({"ticket": _l("Nothing to change.")})
    _check_assignee_fits(errors, actor, ticket, changes)
    _check_department_move(errors, actor, ticket, changes)
    if errors:
        raise ValidationFailed(errors)
    return changes


def _check_department_move(errors, actor, ticket, changes):
    """Customers move a ticket to another department only until an agent takes it up (access.customer_may_move)."""
    if (actor.is_customer and "department" in changes and "department" not in errors
            and changes["department"] is not ticket.department and not access.customer_may_move(ticket)):
        errors["department"] = _l("Our team is already working on this ticket, so it can no longer be moved to "
                                  "another department. Tell us in a reply if it belongs elsewhere.")


def _check_assignee_fits(errors, actor, ticket, changes):
    """The assignee works in the ticket's department (the new one, if it changes too), is an admin or the
    actor; admins may choose any agent (see assignment.may_assign)."""
    assignee = changes.get("assignee")
    if assignee is None or "assignee" in errors or not isinstance(assignee, User):
        return
    department = changes.get("department", ticket.department)
    if not assignment.may_assign(actor, assignee, ticket, department.id if department is not None else None):
        errors["assignee"] = _l("Choose an agent of the ticket's department (or an admin).")


def _do_change_subject(actor, ticket, subject, recorded):
    if subject != ticket.subject:
        recorded["subject"] = [ticket.subject, subject]
        system_event(ticket, actor, {"type": "subject", "from": ticket.subject, "to": subject})
        ticket.subject = subject


def _do_change_priority(actor, ticket, priority, recorded):
    if priority != ticket.priority:
        recorded["priority"] = [ticket.priority, priority]
        system_event(ticket, actor, {"type": "priority", "from": ticket.priority, "to": priority})
        ticket.priority = priority


def _do_change_department(actor, ticket, department, recorded):
    if department is not ticket.department:
        old = ticket.department
        recorded["department"] = [ticket.department_id, department.id if department else None]
        system_event(ticket, actor, {"type": "department", "from": old.name if old else "",
                                     "to": department.name if department else ""})
        ticket.department = department


def _do_assign(actor, ticket, assignee, recorded):
    if assignee is not ticket.assignee:
        recorded["assignee"] = [ticket.assignee_id, assignee.id if assignee else None]
        system_event(ticket, actor, {"type": "assignee", "to": assignee.display_name if assignee else ""})
        ticket.assignee = assignee


def _do_change_status(actor, ticket, status):
    was_closed = ticket.status == CLOSED
    set_status(ticket, actor, status)
    if ticket.status == CLOSED and not was_closed:
        notifications.ticket_closed(ticket)


def _do_update(actor, ticket, changes):
    """Apply the checked changes; the SLA clocks follow a new priority or department. Returns what changed
    (field → [old, new]) for the audit trail; the status change audits itself."""
    recorded = {}
    for field, step in (("subject", _do_change_subject), ("priority", _do_change_priority),
                        ("department", _do_change_department)):
        if field in changes:
            step(actor, ticket, changes[field], recorded)
    if "priority" in recorded or "department" in recorded:
        sla.on_changed(ticket, utcnow())
    if "assignee" in changes:
        _do_assign(actor, ticket, changes["assignee"], recorded)
    return recorded


def update_ticket(actor, ticket, *, subject=_UNSET, priority=_UNSET, department=_UNSET, status=_UNSET,
                  assignee=_UNSET) -> Ticket:
    """Change any of subject, priority, department, status and assignee at once (all validated first).

    Customers may change subject, priority and department of their tickets; status and assignee are
    for agents. The assignee must be an agent (or None to unassign)."""
    wanted = {field: value for field, value in (("subject", subject), ("priority", priority),
                                                ("department", department), ("status", status),
                                                ("assignee", assignee)) if value is not _UNSET}
    changes = _check_update(actor, ticket, wanted)
    lock(ticket)
    recorded = _do_update(actor, ticket, changes)
    if recorded:
        audit.record(actor, "ticket", ticket, "changed", recorded)
        announce("ticket.updated", ticket, changes=recorded)
    if "status" in changes:
        _do_change_status(actor, ticket, changes["status"])
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
    lock(ticket)
    set_status(ticket, actor, CLOSED)
    notifications.ticket_closed(ticket)
    commit_service_call(db.session)
    return ticket


def reopen(actor, ticket) -> Ticket:
    """Reopen a closed ticket."""
    access.require(actor, ticket, "reopen")
    if ticket.status != CLOSED:
        raise Conflict(_l("This ticket is not closed."))
    lock(ticket)
    set_status(ticket, actor, OPEN)
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
        system_event(ticket, actor, event)
    audit.record(actor, "ticket", ticket, "events", {"types": [e["type"] for e in events]})
    commit_service_call(db.session)
