"""settings stamps: a version per kind of cached settings (SLA, webhook endpoints), bumped by every write to
their tables, so each process keeps those settings between requests and still sees an admin's change at once

Revision ID: 0040
Revises: 0039
"""
from alembic import op
import sqlalchemy as sa

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('settings_stamps',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_settings_stamps'))
    )


def downgrade():
    op.drop_table('settings_stamps')
