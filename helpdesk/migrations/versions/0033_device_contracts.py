"""device_contracts: service contracts and renewals (issue 19)

Revision ID: 0033
Revises: 0032
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
