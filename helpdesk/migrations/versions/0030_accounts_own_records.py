"""billing accounts, tickets and contact addresses belong to customer accounts (issue 18)

Revision ID: 0030
Revises: 0029
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
