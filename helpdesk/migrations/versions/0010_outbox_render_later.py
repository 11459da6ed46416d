"""outbox: mail rendered when first delivered

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("render_with", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("render_args", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.drop_column("render_args")
        batch_op.drop_column("render_with")
