"""identity verification of individual accounts (issue 18)

Revision ID: 0026
Revises: 0025
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
