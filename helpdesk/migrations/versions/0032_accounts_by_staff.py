"""accounts_by_staff: staff-created accounts and their identity data (issue 19)

Revision ID: 0032
Revises: 0031
"""
from alembic import op
import sqlalchemy as sa

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_identities',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('national_id', sa.String(length=10), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('address', sa.String(length=1000), nullable=False),
    sa.Column('operator', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_account_identities_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_account_identities_updated_by_id_users')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_account_identities')),
    sa.UniqueConstraint('national_id', name=op.f('uq_account_identities_national_id'))
    )


def downgrade():
    op.drop_table('account_identities')
