"""The audit trail: who changed what, when. ``record`` adds a row to the caller's transaction."""
import sqlalchemy as sa
from sqlalchemy import inspect

from helpdesk.audit.models import AuditEvent
from helpdesk.db import deferring, utcnow, when_flushed
from helpdesk.extensions import db

MODELS = ("models",)


def _jsonable(value):
    if hasattr(value, "__mapper__"):  # a row: its id
        return inspect(value).identity[0]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _unsaved(value) -> bool:
    if hasattr(value, "__mapper__"):
        return inspect(value).identity is None
    if isinstance(value, dict):
        return any(_unsaved(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_unsaved(v) for v in value)
    return False


def record(actor, entity: str, entity_id, action: str, changes=None):
    """Add an audit row for ``actor`` doing ``action`` to ``entity`` ``entity_id``; never commits.
    ``entity_id`` and values in ``changes`` may be rows not yet written: their ids are filled in once
    they exist (in a deferred batch, when it flushes, with one insert for all of the batch's rows)."""
    changes = changes or {}

    def values():
        return {"actor_id": getattr(actor, "id", None), "actor_label": actor.label, "entity": entity,
                "entity_id": _jsonable(entity_id), "action": action, "changes": _jsonable(changes),
                "created_at": utcnow()}

    if deferring(db.session):
        pending = db.session.info.get(_PENDING)
        if pending is None:
            pending = db.session.info[_PENDING] = []
            when_flushed(db.session, lambda: _insert_pending(db.session))
        pending.append(values)
        return None
    if _unsaved(entity_id) or _unsaved(changes):
        db.session.flush()
    event = AuditEvent(**values())
    db.session.add(event)
    return event


_PENDING = "helpdesk_pending_audit"


def _insert_pending(session):
    rows = [values() for values in session.info.pop(_PENDING, ())]
    if rows:
        session.execute(sa.insert(AuditEvent.__table__), rows)  # Core: no autoflush
