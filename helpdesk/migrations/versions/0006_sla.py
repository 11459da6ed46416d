"""sla: targets, business hours, holidays, and the clocks on tickets

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'closed'")
AWAITING_FIRST_RESPONSE = sa.text("status <> 'closed' AND first_response_at IS NULL")
TICKET_COLUMNS = ("first_response_due_at", "resolution_due_at", "sla_due_at", "sla_started_at", "sla_paused_at",
                  "first_response_breached_at", "resolution_breached_at")


def upgrade():
    op.create_table(
        "sla_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_sla_targets_department_id_departments"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_targets")),
        sa.UniqueConstraint("department_id", "priority", name="uq_sla_targets_department_priority"),
    )
    op.create_table(
        "sla_business_days",
        sa.Column("weekday", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=False),
        sa.Column("closes_minute", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("weekday", name=op.f("pk_sla_business_days")),
    )
    op.create_table(
        "sla_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_holidays")),
        sa.UniqueConstraint("day", name=op.f("uq_sla_holidays_day")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in TICKET_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_paused_minutes", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_tickets_open_sla_due", ["sla_due_at", "id"],
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index("ix_tickets_open_first_response_due", ["first_response_due_at"],
                              postgresql_where=AWAITING_FIRST_RESPONSE, sqlite_where=AWAITING_FIRST_RESPONSE)
        batch_op.create_index("ix_tickets_open_resolution_due", ["resolution_due_at"],
                              postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_open_resolution_due")
        batch_op.drop_index("ix_tickets_open_first_response_due")
        batch_op.drop_index("ix_tickets_open_sla_due")
        batch_op.drop_column("sla_paused_minutes")
        for name in reversed(TICKET_COLUMNS):
            batch_op.drop_column(name)
    op.drop_table("sla_holidays")
    op.drop_table("sla_business_days")
    op.drop_table("sla_targets")
