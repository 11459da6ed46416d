"""billing (issue 16): the catalogue (groups, products and packages, prices per cycle and currency, options,
tax rules), billing accounts, orders, invoices and their frozen lines, services and their paid periods,
payments (unique per source and external id), the credit ledger and balances, bank-transfer bookings and
proofs, payment attempts at gateways, billing staff

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billing_product_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('visible', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_product_groups')),
    sa.UniqueConstraint('code', name=op.f('uq_billing_product_groups_code'))
    )
    op.create_table('billing_tax_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('customer_type', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('rate_bp', sa.Integer(), nullable=False),
    sa.CheckConstraint('rate_bp >= 0 AND rate_bp <= 10000', name=op.f('ck_billing_tax_rules_rate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_tax_rules')),
    sa.UniqueConstraint('country', 'customer_type', name=op.f('uq_billing_tax_rules_country'))
    )
    op.create_table('billing_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('taxable', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['billing_product_groups.id'], name=op.f('fk_billing_products_group_id_billing_product_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_products')),
    sa.UniqueConstraint('code', name=op.f('uq_billing_products_code'))
    )
    with op.batch_alter_table('billing_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_products_group_id'), ['group_id'], unique=False)

    op.create_table('billing_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('customer_type', sa.String(length=20), nullable=False),
    sa.Column('tax_number', sa.String(length=40), nullable=False),
    sa.Column('tax_office', sa.String(length=100), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_billing_accounts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_accounts')),
    sa.UniqueConstraint('user_id', name=op.f('uq_billing_accounts_user_id'))
    )
    op.create_table('billing_config_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['billing_products.id'], name=op.f('fk_billing_config_options_product_id_billing_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_config_options')),
    sa.UniqueConstraint('product_id', 'code', name=op.f('uq_billing_config_options_product_id'))
    )
    op.create_table('billing_package_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=False),
    sa.Column('free_periods', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('free_periods >= 0', name=op.f('ck_billing_package_items_free_periods')),
    sa.ForeignKeyConstraint(['item_id'], ['billing_products.id'], name=op.f('fk_billing_package_items_item_id_billing_products')),
    sa.ForeignKeyConstraint(['package_id'], ['billing_products.id'], name=op.f('fk_billing_package_items_package_id_billing_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_package_items')),
    sa.UniqueConstraint('package_id', 'item_id', name=op.f('uq_billing_package_items_package_id'))
    )
    with op.batch_alter_table('billing_package_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_package_items_item_id'), ['item_id'], unique=False)

    op.create_table('billing_product_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('setup_fee', sa.BigInteger(), nullable=False),
    sa.Column('includes_tax', sa.Boolean(), nullable=False),
    sa.CheckConstraint('amount >= 0 AND setup_fee >= 0', name=op.f('ck_billing_product_prices_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['billing_products.id'], name=op.f('fk_billing_product_prices_product_id_billing_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_product_prices')),
    sa.UniqueConstraint('product_id', 'cycle', 'currency', name=op.f('uq_billing_product_prices_product_id'))
    )
    op.create_table('billing_staff',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_billing_staff_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_billing_staff'))
    )
    op.create_table('billing_credit_balances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_billing_credit_balances_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['billing_accounts.id'], name=op.f('fk_billing_credit_balances_account_id_billing_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_credit_balances')),
    sa.UniqueConstraint('account_id', 'currency', name=op.f('uq_billing_credit_balances_account_id'))
    )
    op.create_table('billing_option_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['option_id'], ['billing_config_options.id'], name=op.f('fk_billing_option_choices_option_id_billing_config_options'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_option_choices')),
    sa.UniqueConstraint('option_id', 'code', name=op.f('uq_billing_option_choices_option_id'))
    )
    op.create_table('billing_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payment_method', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('placed_by_id', sa.Integer(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('staff_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_billing_orders_accepted_by_id_users')),
    sa.ForeignKeyConstraint(['account_id'], ['billing_accounts.id'], name=op.f('fk_billing_orders_account_id_billing_accounts')),
    sa.ForeignKeyConstraint(['placed_by_id'], ['users.id'], name=op.f('fk_billing_orders_placed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_orders'))
    )
    with op.batch_alter_table('billing_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_orders_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_billing_orders_status_created', ['status', 'created_at'], unique=False)

    op.create_table('billing_choice_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('choice_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('setup_fee', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount >= 0 AND setup_fee >= 0', name=op.f('ck_billing_choice_prices_not_negative')),
    sa.ForeignKeyConstraint(['choice_id'], ['billing_option_choices.id'], name=op.f('fk_billing_choice_prices_choice_id_billing_option_choices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_choice_prices')),
    sa.UniqueConstraint('choice_id', 'cycle', 'currency', name=op.f('uq_billing_choice_prices_choice_id'))
    )
    op.create_table('billing_invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('payment_reference', sa.String(length=30), nullable=False),
    sa.Column('series', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('net_total', sa.BigInteger(), nullable=False),
    sa.Column('tax_total', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('amount_paid', sa.BigInteger(), nullable=False),
    sa.Column('reverse_charge', sa.Boolean(), nullable=False),
    sa.Column('tax_note', sa.Text(), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=False),
    sa.Column('buyer_address', sa.Text(), nullable=False),
    sa.Column('buyer_country', sa.String(length=2), nullable=False),
    sa.Column('buyer_customer_type', sa.String(length=20), nullable=False),
    sa.Column('buyer_tax_number', sa.String(length=40), nullable=False),
    sa.Column('buyer_tax_office', sa.String(length=100), nullable=False),
    sa.Column('buyer_email', sa.String(length=254), nullable=False),
    sa.Column('seller', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('finalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credited_invoice_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount_paid >= 0', name=op.f('ck_billing_invoices_paid_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['billing_accounts.id'], name=op.f('fk_billing_invoices_account_id_billing_accounts')),
    sa.ForeignKeyConstraint(['credited_invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_invoices_credited_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['order_id'], ['billing_orders.id'], name=op.f('fk_billing_invoices_order_id_billing_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_billing_invoices_number')),
    sa.UniqueConstraint('payment_reference', name=op.f('uq_billing_invoices_payment_reference')),
    sa.UniqueConstraint('reference', name=op.f('uq_billing_invoices_reference')),
    sa.UniqueConstraint('series', 'year', 'sequence', name=op.f('uq_billing_invoices_series'))
    )
    with op.batch_alter_table('billing_invoices', schema=None) as batch_op:
        batch_op.create_index('ix_billing_invoices_account_status', ['account_id', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_invoices_order_id'), ['order_id'], unique=False)

    op.create_table('billing_order_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=200), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['billing_orders.id'], name=op.f('fk_billing_order_items_order_id_billing_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['billing_order_items.id'], name=op.f('fk_billing_order_items_parent_id_billing_order_items')),
    sa.ForeignKeyConstraint(['product_id'], ['billing_products.id'], name=op.f('fk_billing_order_items_product_id_billing_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_order_items'))
    )
    with op.batch_alter_table('billing_order_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_order_items_order_id'), ['order_id'], unique=False)

    op.create_table('billing_payment_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('provider_reference', sa.String(length=200), nullable=True),
    sa.Column('failure', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['billing_accounts.id'], name=op.f('fk_billing_payment_attempts_account_id_billing_accounts')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_payment_attempts_invoice_id_billing_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payment_attempts')),
    sa.UniqueConstraint('gateway', 'provider_reference', name=op.f('uq_billing_payment_attempts_gateway'))
    )
    with op.batch_alter_table('billing_payment_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_payment_attempts_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('billing_payment_proofs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_payment_proofs_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_billing_payment_proofs_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payment_proofs'))
    )
    with op.batch_alter_table('billing_payment_proofs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_payment_proofs_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('billing_services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('order_item_id', sa.Integer(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=200), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('recurring_amount', sa.BigInteger(), nullable=True),
    sa.Column('includes_tax', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('next_due_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['billing_accounts.id'], name=op.f('fk_billing_services_account_id_billing_accounts')),
    sa.ForeignKeyConstraint(['order_id'], ['billing_orders.id'], name=op.f('fk_billing_services_order_id_billing_orders')),
    sa.ForeignKeyConstraint(['order_item_id'], ['billing_order_items.id'], name=op.f('fk_billing_services_order_item_id_billing_order_items')),
    sa.ForeignKeyConstraint(['parent_id'], ['billing_services.id'], name=op.f('fk_billing_services_parent_id_billing_services')),
    sa.ForeignKeyConstraint(['product_id'], ['billing_products.id'], name=op.f('fk_billing_services_product_id_billing_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_services'))
    )
    with op.batch_alter_table('billing_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_services_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_services_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_billing_services_status_due', ['status', 'next_due_date'], unique=False)

    op.create_table('billing_invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('cycle', sa.String(length=20), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('includes_tax', sa.Boolean(), nullable=False),
    sa.Column('tax_name', sa.String(length=60), nullable=False),
    sa.Column('tax_rate_bp', sa.Integer(), nullable=False),
    sa.Column('net', sa.BigInteger(), nullable=False),
    sa.Column('tax', sa.BigInteger(), nullable=False),
    sa.Column('gross', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_invoice_lines_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['product_id'], ['billing_products.id'], name=op.f('fk_billing_invoice_lines_product_id_billing_products')),
    sa.ForeignKeyConstraint(['service_id'], ['billing_services.id'], name=op.f('fk_billing_invoice_lines_service_id_billing_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoice_lines'))
    )
    with op.batch_alter_table('billing_invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_invoice_lines_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_invoice_lines_service_id'), ['service_id'], unique=False)

    op.create_table('billing_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('applied', sa.BigInteger(), nullable=False),
    sa.Column('credited', sa.BigInteger(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_label', sa.String(length=300), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_payments_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['billing_accounts.id'], name=op.f('fk_billing_payments_account_id_billing_accounts')),
    sa.ForeignKeyConstraint(['attempt_id'], ['billing_payment_attempts.id'], name=op.f('fk_billing_payments_attempt_id_billing_payment_attempts')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_payments_invoice_id_billing_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payments')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_billing_payments_source'))
    )
    with op.batch_alter_table('billing_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_payments_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_payments_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('billing_credit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('actor_label', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['billing_accounts.id'], name=op.f('fk_billing_credit_entries_account_id_billing_accounts')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_credit_entries_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['billing_payments.id'], name=op.f('fk_billing_credit_entries_payment_id_billing_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_credit_entries'))
    )
    with op.batch_alter_table('billing_credit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_credit_entries_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_credit_entries_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_credit_entries_payment_id'), ['payment_id'], unique=False)

    op.create_table('billing_service_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('invoice_line_id', sa.Integer(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_service_periods_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['billing_invoice_lines.id'], name=op.f('fk_billing_service_periods_invoice_line_id_billing_invoice_lines')),
    sa.ForeignKeyConstraint(['service_id'], ['billing_services.id'], name=op.f('fk_billing_service_periods_service_id_billing_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_service_periods')),
    sa.UniqueConstraint('service_id', 'period_start', name=op.f('uq_billing_service_periods_service_id'))
    )
    with op.batch_alter_table('billing_service_periods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_service_periods_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('billing_transfer_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('bank_reference', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('booked_by_id', sa.Integer(), nullable=True),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['booked_by_id'], ['users.id'], name=op.f('fk_billing_transfer_bookings_booked_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_billing_transfer_bookings_decided_by_id_users')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_transfer_bookings_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['billing_payments.id'], name=op.f('fk_billing_transfer_bookings_payment_id_billing_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_transfer_bookings')),
    sa.UniqueConstraint('bank_reference', name=op.f('uq_billing_transfer_bookings_bank_reference'))
    )
    with op.batch_alter_table('billing_transfer_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_transfer_bookings_invoice_id'), ['invoice_id'], unique=False)



def downgrade():
    with op.batch_alter_table('billing_transfer_bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_transfer_bookings_invoice_id'))

    op.drop_table('billing_transfer_bookings')
    with op.batch_alter_table('billing_service_periods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_service_periods_invoice_id'))

    op.drop_table('billing_service_periods')
    with op.batch_alter_table('billing_credit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_credit_entries_payment_id'))
        batch_op.drop_index(batch_op.f('ix_billing_credit_entries_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_billing_credit_entries_account_id'))

    op.drop_table('billing_credit_entries')
    with op.batch_alter_table('billing_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_payments_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_billing_payments_account_id'))

    op.drop_table('billing_payments')
    with op.batch_alter_table('billing_invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_invoice_lines_service_id'))
        batch_op.drop_index(batch_op.f('ix_billing_invoice_lines_invoice_id'))

    op.drop_table('billing_invoice_lines')
    with op.batch_alter_table('billing_services', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_services_status_due')
        batch_op.drop_index(batch_op.f('ix_billing_services_order_id'))
        batch_op.drop_index(batch_op.f('ix_billing_services_account_id'))

    op.drop_table('billing_services')
    with op.batch_alter_table('billing_payment_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_payment_proofs_invoice_id'))

    op.drop_table('billing_payment_proofs')
    with op.batch_alter_table('billing_payment_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_payment_attempts_invoice_id'))

    op.drop_table('billing_payment_attempts')
    with op.batch_alter_table('billing_order_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_order_items_order_id'))

    op.drop_table('billing_order_items')
    with op.batch_alter_table('billing_invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_invoices_order_id'))
        batch_op.drop_index('ix_billing_invoices_account_status')

    op.drop_table('billing_invoices')
    op.drop_table('billing_choice_prices')
    with op.batch_alter_table('billing_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_orders_status_created')
        batch_op.drop_index(batch_op.f('ix_billing_orders_account_id'))

    op.drop_table('billing_orders')
    op.drop_table('billing_option_choices')
    op.drop_table('billing_credit_balances')
    op.drop_table('billing_staff')
    op.drop_table('billing_product_prices')
    with op.batch_alter_table('billing_package_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_package_items_item_id'))

    op.drop_table('billing_package_items')
    op.drop_table('billing_config_options')
    op.drop_table('billing_accounts')
    with op.batch_alter_table('billing_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_products_group_id'))

    op.drop_table('billing_products')
    op.drop_table('billing_tax_rules')
    op.drop_table('billing_product_groups')
