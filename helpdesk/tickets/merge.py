"""Merging one ticket into another: the conversation, its files and its people move to the target; the source
is closed and remembers where it went, so later mail to it (token, subject tag, References) lands in the target."""
from helpdesk import audit
from helpdesk.accounts import service as accounts
from helpdesk.db import commit_service_call
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access
from helpdesk.tickets.changes import add_cc, lock, reindex_after_commit, set_status, system_event
from helpdesk.tickets.models import CLOSED, SYSTEM_EVENT, Ticket


def _check_merge(actor, source, target):
    """Agents who may change both tickets; neither merged already, and not one ticket twice."""
    access.require_agent(actor)
    access.require(actor, source, "status")
    access.require(actor, target, "status")
    if source.merged_into_id is not None:
        raise Conflict(_l("Ticket #%(number)s was already merged into another ticket.", number=source.number))
    errors = {}
    if target.id == source.id:
        errors["target"] = _l("A ticket cannot be merged into itself.")
    elif target.merged_into_id is not None:
        errors["target"] = _l("Ticket #%(number)s was merged into another ticket; merge into that one instead.",
                              number=target.number)
    if errors:
        raise ValidationFailed(errors)


def _move_messages(source, target):
    """The source's messages (not its system events) and their attachments move; returns the moved ones."""
    moved = [m for m in source.messages if m.kind != SYSTEM_EVENT]
    for message in moved:
        message.ticket = target
        for attachment in message.attachments:
            attachment.ticket = target
    latest = max((m.created_at for m in moved), default=None)
    if latest is not None and latest > target.last_activity_at:
        target.last_activity_at = latest
    return moved


def _copy_participants(source, target):
    """Everyone on the source joins the target in copy; returns the addresses added."""
    known = accounts.users_by_email([p.email for p in source.participants])
    added = []
    for participant in source.participants:
        _cc, created = add_cc(target, participant.email, participant.name, known=known)
        if created:
            added.append(participant.email)
    return added


def merge_ticket(actor, source: Ticket, target: Ticket) -> Ticket:
    """Merge ``source`` into ``target`` and return the target.

    Agents (and the system) who may change both tickets only. A ticket cannot be merged into itself, nor
    into a ticket that was merged, nor once it was merged itself. Messages and their attachments move
    with their timestamps (system events stay with the source's history); everyone on the source joins
    the target in copy; both threads record the merge; the source is closed."""
    _check_merge(actor, source, target)
    lock(source)
    lock(target)
    moved = _move_messages(source, target)
    added = _copy_participants(source, target)
    source.merged_into = target
    system_event(target, actor, {"type": "merged-in", "number": source.number, "subject": source.subject})
    system_event(source, actor, {"type": "merged-into", "number": target.number, "subject": target.subject})
    if source.status != CLOSED:
        set_status(source, actor, CLOSED)
    reindex_after_commit(source)
    reindex_after_commit(target)
    audit.record(actor, "ticket", source.id, "merged", {"into": target.number, "messages": len(moved)})
    audit.record(actor, "ticket", target.id, "merged-in", {"from": source.number, "cc_added": added})
    commit_service_call(db.session)
    return target
