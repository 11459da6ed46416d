"""The audit table."""
import sqlalchemy as sa

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_entity", "entity", "entity_id"),
                      sa.Index("ix_audit_events_account", "account_id", "id"))

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # No foreign key: the trail outlives deleted users.
    actor_id = sa.Column(sa.Integer)
    actor_label = sa.Column(sa.String(300), nullable=False)
    entity = sa.Column(sa.String(40), nullable=False)
    entity_id = sa.Column(sa.Integer)
    action = sa.Column(sa.String(60), nullable=False)
    changes = sa.Column(sa.JSON, nullable=False, default=dict)
    # The customer account the actor acted for (issue 18), when a customer acted; no foreign key, as for actors.
    account_id = sa.Column(sa.Integer)
