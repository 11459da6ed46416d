"""devices: device types and devices (issue 19)

Revision ID: 0031
Revises: 0030
"""
from alembic import op
import sqlalchemy as sa

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('brand', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('warranty_months', sa.Integer(), server_default='12', nullable=False),
    sa.Column('service_months', sa.Integer(), server_default='12', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('contract_product_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contract_product_id'], ['billing_products.id'],
                            name=op.f('fk_device_types_contract_product_id_billing_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_types')),
    sa.UniqueConstraint('code', name=op.f('uq_device_types_code'))
    )
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('device_type_id', sa.Integer(), nullable=False),
    sa.Column('serial_number', sa.String(length=100), nullable=False),
    sa.Column('dongle_id', sa.String(length=100), nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('warranty_ends_on', sa.Date(), nullable=True),
    sa.Column('service_ends_on', sa.Date(), nullable=True),
    sa.Column('plan', sa.String(length=20), server_default='contract', nullable=False),
    sa.Column('contract_source', sa.String(length=20), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_devices_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_devices_created_by_id_users')),
    sa.ForeignKeyConstraint(['device_type_id'], ['device_types.id'],
                            name=op.f('fk_devices_device_type_id_device_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices'))
    )
    op.create_index(op.f('ix_devices_account_id'), 'devices', ['account_id'], unique=False)
    op.create_index(op.f('ix_devices_device_type_id'), 'devices', ['device_type_id'], unique=False)
    op.create_index(op.f('ix_devices_serial_number'), 'devices', ['serial_number'], unique=False)
    op.create_index('ix_devices_service_ends_on', 'devices', ['service_ends_on'], unique=False)


def downgrade():
    op.drop_index('ix_devices_service_ends_on', table_name='devices')
    op.drop_index(op.f('ix_devices_serial_number'), table_name='devices')
    op.drop_index(op.f('ix_devices_device_type_id'), table_name='devices')
    op.drop_index(op.f('ix_devices_account_id'), table_name='devices')
    op.drop_table('devices')
    op.drop_table('device_types')
