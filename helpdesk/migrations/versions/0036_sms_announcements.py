"""sms_announcements: the SMS outbox and announcements (issue 19)

Revision ID: 0036
Revises: 0035
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
