"""domains: checks, domain products and domain requests (issue 18)

Revision ID: 0029
Revises: 0028
"""
from alembic import op
import sqlalchemy as sa

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('billing_products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('free_domain', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('billing_domain_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('tld', sa.String(length=63), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('registration', sa.BigInteger(), nullable=False),
    sa.Column('transfer', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('registration >= 0 AND transfer >= 0', name=op.f('ck_billing_domain_prices_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['billing_products.id'],
                            name=op.f('fk_billing_domain_prices_product_id_billing_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_domain_prices')),
    sa.UniqueConstraint('product_id', 'tld', 'currency', name=op.f('uq_billing_domain_prices_product_id'))
    )
    op.create_table('domain_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=253), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_checks')),
    sa.UniqueConstraint('name', name=op.f('uq_domain_checks_name'))
    )
    op.create_index(op.f('ix_domain_checks_expires_at'), 'domain_checks', ['expires_at'], unique=False)
    op.create_table('domain_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=253), nullable=False),
    sa.Column('display_name', sa.String(length=253), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('auth_code', sa.String(length=255), nullable=False),
    sa.Column('registrant_name', sa.String(length=200), nullable=False),
    sa.Column('registrant_organisation', sa.String(length=200), nullable=False),
    sa.Column('registrant_email', sa.String(length=254), nullable=False),
    sa.Column('registrant_phone', sa.String(length=50), nullable=False),
    sa.Column('registrant_address', sa.String(length=1000), nullable=False),
    sa.Column('registrant_country', sa.String(length=2), nullable=False),
    sa.Column('nameservers', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('registrar_reference', sa.String(length=200), nullable=False),
    sa.Column('registrar_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_domain_requests_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_domain_requests_decided_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                            name=op.f('fk_domain_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['billing_services.id'],
                            name=op.f('fk_domain_requests_service_id_billing_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_requests'))
    )
    op.create_index(op.f('ix_domain_requests_account_id'), 'domain_requests', ['account_id'], unique=False)
    op.create_index(op.f('ix_domain_requests_service_id'), 'domain_requests', ['service_id'], unique=False)
    op.create_index(op.f('ix_domain_requests_status'), 'domain_requests', ['status'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_domain_requests_status'), table_name='domain_requests')
    op.drop_index(op.f('ix_domain_requests_service_id'), table_name='domain_requests')
    op.drop_index(op.f('ix_domain_requests_account_id'), table_name='domain_requests')
    op.drop_table('domain_requests')
    op.drop_index(op.f('ix_domain_checks_expires_at'), table_name='domain_checks')
    op.drop_table('domain_checks')
    op.drop_table('billing_domain_prices')
    with op.batch_alter_table('billing_products', schema=None) as batch_op:
        batch_op.drop_column('free_domain')
