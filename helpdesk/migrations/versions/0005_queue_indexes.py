"""indexes for the agent queue's keyset pages

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'closed'")


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_open_activity", ["last_activity_at", "id"],
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index("ix_tickets_open_created", ["created_at", "id"],
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index("ix_tickets_open_assignee_activity", ["assignee_id", "last_activity_at"],
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index("ix_tickets_status_created", ["status", "created_at", "id"])


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_status_created")
        batch_op.drop_index("ix_tickets_open_assignee_activity")
        batch_op.drop_index("ix_tickets_open_created")
        batch_op.drop_index("ix_tickets_open_activity")
