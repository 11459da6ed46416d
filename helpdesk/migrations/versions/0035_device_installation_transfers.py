"""device_installation_transfers: installation confirmations and ownership transfers (issue 19)

Revision ID: 0035
Revises: 0034
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
