"""The audit trail: who changed what, when. ``record`` adds a row to the caller's transaction."""
import sqlalchemy as sa

from helpdesk.audit.models import AuditEvent
from helpdesk.db import add_row, ensure_ids, row_id, utcnow
from helpdesk.extensions import db

MODELS = ("models",)

# How to find the customer account an actor acts for (issue 18): accounts.memberships hands it in on import (this
# package sits below accounts). It answers None, without a query, for staff and the helpdesk's own actors.
_account_of = None


def find_accounts_with(resolver) -> None:
    global _account_of
    _account_of = resolver


def _account_id(actor, account_id):
    if account_id is not None or _account_of is None:
        return account_id
    return _account_of(actor)


def _jsonable(value):
    if hasattr(value, "__mapper__"):  # a row: its id
        return row_id(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _rows(value):
    """The rows (mapped objects) in ``value``, a row, a dict or a list of them."""
    if hasattr(value, "__mapper__"):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _rows(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _rows(item)


def record(actor, entity: str, entity_id, action: str, changes=None, *, account_id=None):
    """Add an audit row for ``actor`` doing ``action`` to ``entity`` ``entity_id``; never commits. Returns the
    new AuditEvent (in a deferred batch, its id: see ``db.add_row``).
    ``entity_id`` and values in ``changes`` may be rows (mapped objects): their ids are recorded (a new
    row without one is flushed first; in a deferred batch new rows have theirs already). The row names the
    customer account the actor acted for (a customer's acting account), or ``account_id`` when given."""
    changes = changes or {}
    ensure_ids(db.session, *_rows(entity_id), *_rows(changes))
    # The row is only written here, never read back: in a deferred batch it goes out without an object.
    return add_row(db.session, AuditEvent, actor_id=getattr(actor, "id", None), actor_label=actor.label,
                   entity=entity, entity_id=_jsonable(entity_id), action=action, changes=_jsonable(changes),
                   account_id=_account_id(actor, account_id), created_at=utcnow())


def record_now(actor, entity: str, entity_id, action: str, changes=None, *, account_id=None):
    """``record``, written at once by one INSERT instead of by the session's next flush: for the statement that
    must come last before a commit (after a counter's lock is taken, say), where a flush would cost more than it
    writes. ``entity_id`` and ``changes`` must not hold rows without an id."""
    changes = changes or {}
    with db.session.no_autoflush:  # a customer's account is looked up without writing what waits for the flush
        account_id = _account_id(actor, account_id)
    db.session.connection().execute(sa.insert(AuditEvent.__table__).values(
        actor_id=getattr(actor, "id", None), actor_label=actor.label, entity=entity, entity_id=_jsonable(entity_id),
        action=action, changes=_jsonable(changes), account_id=account_id, created_at=utcnow()))
