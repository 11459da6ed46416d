"""device_installation_transfers: installation confirmations and ownership transfers (issue 19)

Revision ID: 0035
Revises: 0034
"""
from alembic import op
import sqlalchemy as sa

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_installations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_by_login', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_device_installations_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_installations_device_id_devices')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name=op.f('fk_device_installations_signed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_installations')),
    sa.UniqueConstraint('device_id', name=op.f('uq_device_installations_device_id'))
    )
    op.create_table('device_installation_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('confirmation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_login', sa.String(length=254), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_device_installation_notes_author_id_users')),
    sa.ForeignKeyConstraint(['confirmation_id'], ['device_installations.id'],
                            name=op.f('fk_device_installation_notes_confirmation_id_device_installations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_installation_notes'))
    )
    op.create_index(op.f('ix_device_installation_notes_confirmation_id'), 'device_installation_notes',
                    ['confirmation_id'], unique=False)
    op.create_table('device_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('from_account_id', sa.Integer(), nullable=False),
    sa.Column('to_account_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('new_owner_name', sa.String(length=200), nullable=False),
    sa.Column('new_owner_national_id', sa.String(length=10), nullable=False),
    sa.Column('new_owner_phone', sa.String(length=20), nullable=False),
    sa.Column('statement', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('codes_sent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=10), nullable=True),
    sa.Column('confirmed_ip', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_device_transfers_decided_by_id_users')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_transfers_device_id_devices')),
    sa.ForeignKeyConstraint(['from_account_id'], ['customer_accounts.id'],
                            name=op.f('fk_device_transfers_from_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                            name=op.f('fk_device_transfers_requested_by_id_users')),
    sa.ForeignKeyConstraint(['to_account_id'], ['customer_accounts.id'],
                            name=op.f('fk_device_transfers_to_account_id_customer_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_transfers')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_device_transfers_token_hash'))
    )
    op.create_index(op.f('ix_device_transfers_device_id'), 'device_transfers', ['device_id'], unique=False)
    op.create_index(op.f('ix_device_transfers_from_account_id'), 'device_transfers', ['from_account_id'],
                    unique=False)
    op.create_index(op.f('ix_device_transfers_new_owner_national_id'), 'device_transfers', ['new_owner_national_id'],
                    unique=False)
    op.create_index('ix_device_transfers_status', 'device_transfers', ['status', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_device_transfers_status', table_name='device_transfers')
    op.drop_index(op.f('ix_device_transfers_new_owner_national_id'), table_name='device_transfers')
    op.drop_index(op.f('ix_device_transfers_from_account_id'), table_name='device_transfers')
    op.drop_index(op.f('ix_device_transfers_device_id'), table_name='device_transfers')
    op.drop_table('device_transfers')
    op.drop_index(op.f('ix_device_installation_notes_confirmation_id'), table_name='device_installation_notes')
    op.drop_table('device_installation_notes')
    op.drop_table('device_installations')
