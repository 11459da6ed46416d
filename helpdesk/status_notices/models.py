"""Status notices' tables: the notice (kind, severity, status, texts per language, start and expected end), what it
affects (rows of (kind, id): billing's products and services today, devices later), its updates, the mailings that
told customers about it, and the customers who want no maintenance mail."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

INCIDENT, MAINTENANCE = "incident", "maintenance"
KINDS = (INCIDENT, MAINTENANCE)
KIND_LABELS = {INCIDENT: _l("Incident"), MAINTENANCE: _l("Planned maintenance")}

MINOR, MAJOR, CRITICAL = "minor", "major", "critical"
SEVERITIES = (MINOR, MAJOR, CRITICAL)
SEVERITY_LABELS = {MINOR: _l("Minor"), MAJOR: _l("Major"), CRITICAL: _l("Critical")}

# A short set for both kinds: scheduled (maintenance planned, not begun), investigating (an incident whose cause
# is not known yet), in progress (the cause is known and being fixed, or the maintenance is under way),
# monitoring (fixed or done, being watched), resolved (over; set by resolving, never chosen in a form).
SCHEDULED, INVESTIGATING, IN_PROGRESS, MONITORING, RESOLVED = (
    "scheduled", "investigating", "in_progress", "monitoring", "resolved")
STATUSES = (SCHEDULED, INVESTIGATING, IN_PROGRESS, MONITORING, RESOLVED)
OPEN_STATUSES = STATUSES[:-1]
STATUS_LABELS = {SCHEDULED: _l("Scheduled"), INVESTIGATING: _l("Investigating"), IN_PROGRESS: _l("In progress"),
                 MONITORING: _l("Monitoring"), RESOLVED: _l("Resolved")}

# What a notice may affect: billing's products (every customer with a service of it) and services (one customer's).
AFFECTS_PRODUCT, AFFECTS_SERVICE = "product", "service"
AFFECT_KINDS = (AFFECTS_PRODUCT, AFFECTS_SERVICE)

# Mailings: what the customers were told.
MAIL_PUBLISHED, MAIL_UPDATED, MAIL_RESOLVED = "published", "updated", "resolved"
MAIL_EVENTS = (MAIL_PUBLISHED, MAIL_UPDATED, MAIL_RESOLVED)


class StatusNotice(db.Model):
    """An incident or a planned maintenance, as staff published it. ``texts``: {"en": {"title": ..., "text": ...},
    "de": {...}}, the desk's default language always present."""

    __tablename__ = "status_notices"

    id = sa.Column(sa.Integer, primary_key=True)
    kind = sa.Column(sa.String(20), nullable=False)
    severity = sa.Column(sa.String(20), nullable=False)
    status = sa.Column(sa.String(20), nullable=False)
    texts = sa.Column(sa.JSON, nullable=False, default=dict)
    starts_at = sa.Column(UTCDateTime, nullable=False)
    ends_at = sa.Column(UTCDateTime)  # expected end, if known
    resolved_at = sa.Column(UTCDateTime, index=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))

    affects = relationship("StatusNoticeAffect", back_populates="notice", cascade="all, delete-orphan",
                           order_by="StatusNoticeAffect.id")
    updates = relationship("StatusNoticeUpdate", back_populates="notice", cascade="all, delete-orphan",
                           order_by="StatusNoticeUpdate.id")

    @property
    def is_resolved(self) -> bool:
        return self.status == RESOLVED

    def targets(self, kind: str) -> list[int]:
        """The ids of what this notice affects of ``kind`` (AFFECTS_PRODUCT, AFFECTS_SERVICE)."""
        return [affect.target_id for affect in self.affects if affect.kind == kind]


class StatusNoticeAffect(db.Model):
    """One thing a notice affects: (kind, id) — a product or a service today; a device later, with no new table."""

    __tablename__ = "status_notice_affects"
    __table_args__ = (sa.UniqueConstraint("notice_id", "kind", "target_id"),
                      sa.Index("ix_status_notice_affects_target", "kind", "target_id"))

    id = sa.Column(sa.Integer, primary_key=True)
    notice_id = sa.Column(sa.Integer, sa.ForeignKey("status_notices.id", ondelete="CASCADE"), nullable=False)
    kind = sa.Column(sa.String(20), nullable=False)
    target_id = sa.Column(sa.Integer, nullable=False)

    notice = relationship(StatusNotice, back_populates="affects")


class StatusNoticeUpdate(db.Model):
    """News on a notice: the status it moved to and the text per language ({"en": "...", "de": "..."})."""

    __tablename__ = "status_notice_updates"

    id = sa.Column(sa.Integer, primary_key=True)
    notice_id = sa.Column(sa.Integer, sa.ForeignKey("status_notices.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    status = sa.Column(sa.String(20), nullable=False)
    texts = sa.Column(sa.JSON, nullable=False, default=dict)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    author_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))

    notice = relationship(StatusNotice, back_populates="updates")


class StatusNoticeMailing(db.Model):
    """Telling the affected customers about one event of a notice (published, an update, resolved), written with
    the event and worked through by a job in chunks of customers (``last_user_id``: the chunks done), each chunk's
    mail committed with its progress: a job run twice sends each mail once."""

    __tablename__ = "status_notice_mailings"

    id = sa.Column(sa.Integer, primary_key=True)
    notice_id = sa.Column(sa.Integer, sa.ForeignKey("status_notices.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    event = sa.Column(sa.String(20), nullable=False)
    update_id = sa.Column(sa.Integer, sa.ForeignKey("status_notice_updates.id", ondelete="CASCADE"))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    last_user_id = sa.Column(sa.Integer, nullable=False, default=0)
    recipients = sa.Column(sa.Integer, nullable=False, default=0)  # customers told so far
    finished_at = sa.Column(UTCDateTime)

    notice = relationship(StatusNotice)
    update = relationship(StatusNoticeUpdate)


class StatusMailOptOut(db.Model):
    """A customer who wants no mail about planned maintenance (incident mail about their services always goes)."""

    __tablename__ = "status_mail_opt_outs"

    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
