"""pending jobs: every job asked for in a transaction is a row of it until it has run, so a crash or a
Redis outage between the commit and the job delays it (the sweep runs it again) instead of losing it

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pending_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_jobs")),
    )
    op.create_index(op.f("ix_pending_jobs_created_at"), "pending_jobs", ["created_at"], unique=False)
    op.create_index(op.f("ix_pending_jobs_dispatched_at"), "pending_jobs", ["dispatched_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_pending_jobs_dispatched_at"), table_name="pending_jobs")
    op.drop_index(op.f("ix_pending_jobs_created_at"), table_name="pending_jobs")
    op.drop_table("pending_jobs")
