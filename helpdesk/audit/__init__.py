"""The audit trail: who changed what, when. ``record`` adds a row to the caller's transaction."""
from helpdesk.audit.models import AuditEvent
from helpdesk.extensions import db


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def record(actor, entity: str, entity_id, action: str, changes=None):
    """Add an audit row for ``actor`` doing ``action`` to ``entity`` ``entity_id``; never commits."""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_label=actor.label,
        entity=entity,
        entity_id=entity_id,
        action=action,
        changes=_jsonable(changes or {}),
    )
    db.session.add(event)
    return event
