"""upgrades and downgrades between packages: plan changes prorated by the day (issue 17)

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billing_plan_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('from_product_id', sa.Integer(), nullable=False),
    sa.Column('to_product_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('old_amount', sa.BigInteger(), nullable=False),
    sa.Column('new_amount', sa.BigInteger(), nullable=False),
    sa.Column('new_options', sa.JSON(), nullable=False),
    sa.Column('new_includes_tax', sa.Boolean(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('days_left', sa.Integer(), nullable=False),
    sa.Column('days_in_period', sa.Integer(), nullable=False),
    sa.Column('unused_credit', sa.BigInteger(), nullable=False),
    sa.Column('new_charge', sa.BigInteger(), nullable=False),
    sa.Column('difference', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_label', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['billing_accounts.id'], name=op.f('fk_billing_plan_changes_account_id_billing_accounts')),
    sa.ForeignKeyConstraint(['from_product_id'], ['billing_products.id'], name=op.f('fk_billing_plan_changes_from_product_id_billing_products')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_plan_changes_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['service_id'], ['billing_services.id'], name=op.f('fk_billing_plan_changes_service_id_billing_services')),
    sa.ForeignKeyConstraint(['to_product_id'], ['billing_products.id'], name=op.f('fk_billing_plan_changes_to_product_id_billing_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_plan_changes')),
    sa.UniqueConstraint('key', name=op.f('uq_billing_plan_changes_key'))
    )
    with op.batch_alter_table('billing_plan_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_plan_changes_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_plan_changes_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_billing_plan_changes_service_status', ['service_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('billing_plan_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_plan_changes_service_status')
        batch_op.drop_index(batch_op.f('ix_billing_plan_changes_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_billing_plan_changes_account_id'))

    op.drop_table('billing_plan_changes')
