"""customer accounts and memberships: a login is a member of one or more accounts (issue 18)

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('share_tickets', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_accounts'))
    )
    op.create_table('account_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('is_owner', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_tickets', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('can_billing', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_services', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_vault_view', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_vault_edit', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_members', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_account_memberships_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_memberships_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_memberships')),
    sa.UniqueConstraint('account_id', 'user_id', name=op.f('uq_account_memberships_account_id'))
    )
    op.create_index(op.f('ix_account_memberships_user_id'), 'account_memberships', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_account_memberships_user_id'), table_name='account_memberships')
    op.drop_table('account_memberships')
    op.drop_table('customer_accounts')
