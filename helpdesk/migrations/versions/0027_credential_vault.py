"""the credential vault (issue 18)

Revision ID: 0027
Revises: 0026
"""
from alembic import op
import sqlalchemy as sa

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('vault_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('username_sealed', sa.Text(), nullable=True),
    sa.Column('password_sealed', sa.Text(), nullable=True),
    sa.Column('notes_sealed', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_vault_entries_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_vault_entries_updated_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_entries'))
    )
    op.create_index(op.f('ix_vault_entries_account_id'), 'vault_entries', ['account_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_vault_entries_account_id'), table_name='vault_entries')
    op.drop_table('vault_entries')
