"""the credential vault (issue 18)

Revision ID: 0027
Revises: 0026
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
