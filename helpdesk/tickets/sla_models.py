"""Tables of the service level agreements: targets per department and priority, the calendars business-time
targets count in (the desk's default and departments' own) and the holidays they skip (see the tickets/sla
package for the rules)."""
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


class SLACalendar(db.Model):
    """When business-time clocks run: weekly windows, or around the clock (24/7, holidays do not apply), in
    ``time_zone`` (None: the desk's BUSINESS_TIMEZONE). One calendar is the desk's default; a department may
    use another (see DepartmentCalendar)."""

    __tablename__ = "sla_calendars"
    __table_args__ = (sa.Index("uq_sla_calendars_default", "is_default", unique=True,
                               postgresql_where=sa.text("is_default"), sqlite_where=sa.text("is_default")),)

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(100), nullable=False, unique=True)
    around_the_clock = sa.Column(sa.Boolean, nullable=False, default=False)
    time_zone = sa.Column(sa.String(64))
    is_default = sa.Column(sa.Boolean, nullable=False, default=False)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    windows = relationship("CalendarWindow", back_populates="calendar", cascade="all, delete-orphan",
                           passive_deletes=True,
                           order_by="(CalendarWindow.weekday, CalendarWindow.opens_minute, CalendarWindow.id)")


class CalendarWindow(db.Model):
    """One stretch of business time starting on ``weekday`` (0 Monday … 6 Sunday) at ``opens_minute`` after
    local midnight. ``closes_minute`` after ``opens_minute`` closes it the same day (1440: at midnight); at or
    before it, on the next day: a night shift Monday 22:00–06:00 is Monday's window and runs into Tuesday."""

    __tablename__ = "sla_calendar_windows"

    id = sa.Column(sa.Integer, primary_key=True)
    calendar_id = sa.Column(sa.Integer, sa.ForeignKey("sla_calendars.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    weekday = sa.Column(sa.Integer, nullable=False)
    opens_minute = sa.Column(sa.Integer, nullable=False)
    closes_minute = sa.Column(sa.Integer, nullable=False)

    calendar = relationship(SLACalendar, back_populates="windows")


class DepartmentCalendar(db.Model):
    """The calendar a department's business-time clocks count in, instead of the desk's default."""

    __tablename__ = "sla_department_calendars"

    department_id = sa.Column(sa.Integer, sa.ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True,
                              autoincrement=False)
    calendar_id = sa.Column(sa.Integer, sa.ForeignKey("sla_calendars.id", ondelete="CASCADE"), nullable=False,
                            index=True)

    department = relationship(Department)
    calendar = relationship(SLACalendar)


class Holiday(db.Model):
    """A date on which business-time clocks stand still: the whole local day, in each calendar's own time zone,
    whichever window it falls in. Around-the-clock (24/7) calendars do not stop for holidays."""

    __tablename__ = "sla_holidays"

    id = sa.Column(sa.Integer, primary_key=True)
    day = sa.Column(sa.Date, nullable=False, unique=True)
    name = sa.Column(sa.String(100), nullable=False, default="")
