"""social login identities (issue 18)

Revision ID: 0028
Revises: 0027
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
