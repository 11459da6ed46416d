"""sla calendars: named calendars with several windows a day (a window may run past midnight into the next
day) or around the clock (24/7), each in its own time zone; departments may use their own calendar, the rest
use the desk's default calendar. The one window per weekday of sla_business_days becomes the default
calendar's windows, as they were.

Revision ID: 0018
Revises: 0017
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Monday to Friday, 09:00 to 17:00: what applied when no business hours were stored.
_BUILT_IN = [(weekday, 9 * 60, 17 * 60) for weekday in range(5)]


def upgrade():
    op.create_table(
        "sla_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("around_the_clock", sa.Boolean(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_calendars_name")),
    )
    op.create_index("uq_sla_calendars_default", "sla_calendars", ["is_default"], unique=True,
                    postgresql_where=sa.text("is_default"), sqlite_where=sa.text("is_default"))
    op.create_table(
        "sla_calendar_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=False),
        sa.Column("closes_minute", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["sla_calendars.id"],
                                name=op.f("fk_sla_calendar_windows_calendar_id_sla_calendars"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendar_windows")),
    )
    op.create_index(op.f("ix_sla_calendar_windows_calendar_id"), "sla_calendar_windows", ["calendar_id"])
    op.create_table(
        "sla_department_calendars",
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_sla_department_calendars_department_id_departments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["calendar_id"], ["sla_calendars.id"],
                                name=op.f("fk_sla_department_calendars_calendar_id_sla_calendars"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_sla_department_calendars")),
    )
    op.create_index(op.f("ix_sla_department_calendars_calendar_id"), "sla_department_calendars", ["calendar_id"])
    _move_business_days()
    op.drop_table("sla_business_days")


def _move_business_days():
    """The stored weekly hours (or, without any, the built-in ones that applied) become the default calendar."""
    conn = op.get_bind()
    days = sa.table("sla_business_days", sa.column("weekday"), sa.column("opens_minute"), sa.column("closes_minute"))
    rows = conn.execute(sa.select(days.c.weekday, days.c.opens_minute, days.c.closes_minute)
                        .order_by(days.c.weekday)).all() or _BUILT_IN
    calendars = sa.table("sla_calendars", sa.column("id"), sa.column("name"), sa.column("around_the_clock"),
                         sa.column("time_zone"), sa.column("is_default"), sa.column("updated_at"))
    conn.execute(sa.insert(calendars).values(id=1, name="Business hours", around_the_clock=False, time_zone=None,
                                             is_default=True, updated_at=datetime.now(UTC)))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('sla_calendars', 'id'), 1)"))
    windows = sa.table("sla_calendar_windows", sa.column("calendar_id"), sa.column("weekday"),
                       sa.column("opens_minute"), sa.column("closes_minute"))
    conn.execute(sa.insert(windows), [{"calendar_id": 1, "weekday": weekday, "opens_minute": opens,
                                       "closes_minute": closes} for weekday, opens, closes in rows])


def downgrade():
    """Back to one window per weekday: each weekday keeps the default calendar's earliest window, cut at midnight
    when it ran into the next day; other windows, calendars and department choices are lost."""
    op.create_table(
        "sla_business_days",
        sa.Column("weekday", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=False),
        sa.Column("closes_minute", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("weekday", name=op.f("pk_sla_business_days")),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT w.weekday, w.opens_minute, w.closes_minute FROM sla_calendar_windows w "
        "JOIN sla_calendars c ON c.id = w.calendar_id WHERE c.is_default "
        "ORDER BY w.weekday, w.opens_minute")).all()
    kept = {}
    for weekday, opens, closes in rows:
        kept.setdefault(weekday, (opens, closes if closes > opens else 24 * 60))
    days = sa.table("sla_business_days", sa.column("weekday"), sa.column("opens_minute"), sa.column("closes_minute"))
    if kept:
        conn.execute(sa.insert(days), [{"weekday": d, "opens_minute": o, "closes_minute": c}
                                       for d, (o, c) in kept.items()])
    op.drop_index(op.f("ix_sla_department_calendars_calendar_id"), table_name="sla_department_calendars")
    op.drop_table("sla_department_calendars")
    op.drop_index(op.f("ix_sla_calendar_windows_calendar_id"), table_name="sla_calendar_windows")
    op.drop_table("sla_calendar_windows")
    op.drop_index("uq_sla_calendars_default", table_name="sla_calendars")
    op.drop_table("sla_calendars")
