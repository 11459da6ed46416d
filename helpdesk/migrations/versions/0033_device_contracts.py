"""device_contracts: service contracts and renewals (issue 19)

Revision ID: 0033
Revises: 0032
"""
from alembic import op
import sqlalchemy as sa

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('years', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_device_contracts_created_by_id_users')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_contracts_device_id_devices')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'],
                            name=op.f('fk_device_contracts_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['service_id'], ['billing_services.id'],
                            name=op.f('fk_device_contracts_service_id_billing_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_contracts')),
    sa.UniqueConstraint('service_id', name=op.f('uq_device_contracts_service_id'))
    )
    op.create_index(op.f('ix_device_contracts_device_id'), 'device_contracts', ['device_id'], unique=False)
    op.create_table('device_contract_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'],
                            name=op.f('fk_device_contract_reminders_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_contract_reminders')),
    sa.UniqueConstraint('device_id', 'ends_on', 'days_before', name=op.f('uq_device_contract_reminders_device_id'))
    )


def downgrade():
    op.drop_table('device_contract_reminders')
    op.drop_index(op.f('ix_device_contracts_device_id'), table_name='device_contracts')
    op.drop_table('device_contracts')
