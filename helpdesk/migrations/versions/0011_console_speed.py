"""indexes for the console at a million tickets: sidebar counts, priority sort, staff lists

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OPEN = "status <> 'closed'"
CLOSED = "status = 'closed'"
# Must stay the expression tickets/queue.py sorts by (URGENCY), or the planner cannot use the index.
URGENCY = ("(CASE WHEN (priority = 'urgent') THEN 3 WHEN (priority = 'high') THEN 2 "
           "WHEN (priority = 'normal') THEN 1 WHEN (priority = 'low') THEN 0 ELSE 1 END)")


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        # The sidebar's GROUP BY over open tickets, answered from the index alone.
        batch_op.create_index("ix_tickets_open_counts", ["status", "priority", "department_id", "assignee_id"],
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    for name, where in (("ix_tickets_open_urgency_activity", OPEN), ("ix_tickets_closed_urgency_activity", CLOSED)):
        op.execute(f"CREATE INDEX {name} ON tickets ({URGENCY}, last_activity_at, id) WHERE {where}")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_role", ["role"])


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_role")
    op.execute("DROP INDEX ix_tickets_closed_urgency_activity")
    op.execute("DROP INDEX ix_tickets_open_urgency_activity")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_open_counts")
