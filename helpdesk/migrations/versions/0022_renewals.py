"""renewals, reminders, late fees, suspensions and plan changes (issue 17): holds on services (overdue and
manual), reminders per invoice and kind, late fees per invoice, a product's renewal lead days, an account's
auto-pay from credit

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('billing_products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('renewal_lead_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_pay_from_credit', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))

    op.create_table('billing_service_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('placed_by_id', sa.Integer(), nullable=True),
    sa.Column('placed_by_label', sa.String(length=300), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lifted_by_id', sa.Integer(), nullable=True),
    sa.Column('lifted_by_label', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_service_holds_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['service_id'], ['billing_services.id'], name=op.f('fk_billing_service_holds_service_id_billing_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_service_holds')),
    sa.UniqueConstraint('service_id', 'invoice_id', name=op.f('uq_billing_service_holds_service_id'))
    )
    with op.batch_alter_table('billing_service_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_service_holds_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_billing_service_holds_open', ['service_id', 'lifted_at'], unique=False)

    op.create_table('billing_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_reminders_invoice_id_billing_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_reminders')),
    sa.UniqueConstraint('invoice_id', 'kind', name=op.f('uq_billing_reminders_invoice_id'))
    )

    op.create_table('billing_late_fees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('fee_invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fee_invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_late_fees_fee_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_late_fees_invoice_id_billing_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_late_fees')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_billing_late_fees_invoice_id'))
    )


def downgrade():
    op.drop_table('billing_late_fees')
    op.drop_table('billing_reminders')
    with op.batch_alter_table('billing_service_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_service_holds_open')
        batch_op.drop_index(batch_op.f('ix_billing_service_holds_invoice_id'))
    op.drop_table('billing_service_holds')
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.drop_column('auto_pay_from_credit')
    with op.batch_alter_table('billing_products', schema=None) as batch_op:
        batch_op.drop_column('renewal_lead_days')
