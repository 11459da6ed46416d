"""Tables of the service level agreements: targets per department and priority, the weekly business
hours and the holidays that business-time targets skip (see the tickets/sla package for the rules)."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Department


class SLATarget(db.Model):
    """How soon a ticket of ``priority`` in ``department`` (None: every department without its own
    target) needs its first response and its resolution, in minutes of wall-clock or business time."""

    __tablename__ = "sla_targets"
    __table_args__ = (sa.UniqueConstraint("department_id", "priority", name="uq_sla_targets_department_priority"),)

    id = sa.Column(sa.Integer, primary_key=True)
    department_id = sa.Column(sa.Integer, sa.ForeignKey("departments.id", ondelete="CASCADE"))
    priority = sa.Column(sa.String(10), nullable=False)
    first_response_minutes = sa.Column(sa.Integer, nullable=False)
    resolution_minutes = sa.Column(sa.Integer, nullable=False)
    # True: the minutes count only within business hours, skipping holidays.
    business_hours = sa.Column(sa.Boolean, nullable=False, default=True)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    department = relationship(Department)


class BusinessDay(db.Model):
    """The business hours of one weekday (0 Monday … 6 Sunday) as minutes after local midnight;
    a weekday without a row is closed."""

    __tablename__ = "sla_business_days"

    weekday = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    opens_minute = sa.Column(sa.Integer, nullable=False)
    closes_minute = sa.Column(sa.Integer, nullable=False)


class Holiday(db.Model):
    """A date (in the business time zone) on which business-time clocks stand still."""

    __tablename__ = "sla_holidays"

    id = sa.Column(sa.Integer, primary_key=True)
    day = sa.Column(sa.Date, nullable=False, unique=True)
    name = sa.Column(sa.String(100), nullable=False, default="")
