"""One change applied to many tickets at once (the queue's bulk form): validated once, each ticket in its own
savepoint so a ticket the change does not fit is reported and left as it was while the others change."""
from dataclasses import dataclass

from helpdesk.accounts.models import User
from helpdesk.db import Batch, parse_id
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access
from helpdesk.tickets.checks import check_department, check_priority, check_status, find_user
from helpdesk.tickets.service import close, update_ticket

_UNSET = object()

BULK_DONE, BULK_NOT_ALLOWED, BULK_INVALID = "done", "not_allowed", "invalid"
BULK_MAX = 250


@dataclass(frozen=True)
class BulkResult:
    """What a bulk change did to one ticket: ``outcome`` is BULK_DONE, BULK_NOT_ALLOWED or BULK_INVALID."""

    number: int
    outcome: str
    reason: str = ""


def _check_bulk_numbers(errors, numbers):
    """The ticket numbers, each once, in the order given."""
    numbers = list(numbers or ())
    # The limit first: a form with 100,000 ticket numbers is refused before any is read.
    if len(numbers) > BULK_MAX:
        errors["tickets"] = _l("Select at most %(num)d tickets at once.", num=BULK_MAX)
        return []
    wanted = list(dict.fromkeys(parse_id(raw) for raw in numbers))  # duplicates dropped in linear time
    if None in wanted:
        errors["tickets"] = _l("Choose tickets from the list.")
    elif not wanted:
        errors["tickets"] = _l("Select at least one ticket.")
    return wanted


def _check_bulk_changes(errors, changes):
    """``changes`` cleaned once for every ticket (each ticket's update checks them again, with its permissions)."""
    if "status" in changes:
        check_status(errors, changes["status"])
    if "priority" in changes:
        check_priority(errors, changes["priority"])
    if "department" in changes:
        changes["department"] = check_department(errors, changes["department"])
    if changes.get("assignee") is not None and not isinstance(changes["assignee"], User):
        found = find_user(changes["assignee"])
        if found is None or not found.is_agent:
            errors["assignee"] = _l("Choose a valid agent.")
        changes["assignee"] = found
    return changes


def _bulk_update_one(actor, number, changes, and_close) -> BulkResult:
    """One ticket of a bulk change, in its own savepoint: a refusal leaves it as it was."""
    try:
        with db.session.begin_nested():
            ticket = access.get_ticket(actor, number)
            if changes:
                update_ticket(actor, ticket, **changes)
            if and_close:
                close(actor, ticket)
    except (NotFound, NotAllowed) as exc:
        return BulkResult(number, BULK_NOT_ALLOWED, str(exc.message))
    except ValidationFailed as exc:
        return BulkResult(number, BULK_INVALID, "; ".join(str(m) for m in exc.errors.values()))
    except Conflict as exc:
        return BulkResult(number, BULK_INVALID, str(exc.message))
    return BulkResult(number, BULK_DONE)


def bulk_update(actor, numbers, *, status=_UNSET, priority=_UNSET, department=_UNSET, assignee=_UNSET,
                close=False) -> list[BulkResult]:
    """Apply one change (``update_ticket``'s fields and/or closing) to each ticket in ``numbers``.

    Agents and the system only; the change is validated once up front. All tickets change in one
    transaction, each in its own savepoint, so a ticket the actor may not see or change, or one the
    change does not fit (already closed), is reported and left as it was while the others change."""
    access.require_agent(actor)
    errors = {}
    wanted = _check_bulk_numbers(errors, numbers)
    changes = _check_bulk_changes(errors, {
        field: value for field, value in (("status", status), ("priority", priority), ("department", department),
                                          ("assignee", assignee)) if value is not _UNSET})
    if not changes and not close:
        errors["action"] = _l("Choose a change to make.")
    if errors:
        raise ValidationFailed(errors)
    with Batch(db.session):
        results = [_bulk_update_one(actor, number, changes, close) for number in wanted]
    return results
