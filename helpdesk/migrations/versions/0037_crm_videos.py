"""crm_videos: CRM sync and video licences (issue 19)

Revision ID: 0037
Revises: 0036
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
