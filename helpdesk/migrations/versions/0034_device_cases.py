"""device_cases: pay-per-case charges, debt and ticket links (issue 19)

Revision ID: 0034
Revises: 0033
"""
from alembic import op
import sqlalchemy as sa

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('device_status', sa.String(length=30), nullable=False),
    sa.Column('state', sa.String(length=20), server_default='open', nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_device_cases_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_device_cases_created_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_device_cases_decided_by_id_users')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_cases_device_id_devices')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_device_cases_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_cases')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_device_cases_ticket_id'))
    )
    op.create_index(op.f('ix_device_cases_account_id'), 'device_cases', ['account_id'], unique=False)
    op.create_index(op.f('ix_device_cases_device_id'), 'device_cases', ['device_id'], unique=False)
    op.create_index(op.f('ix_device_cases_state'), 'device_cases', ['state'], unique=False)
    op.create_table('device_case_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('difficulty', sa.String(length=20), nullable=False),
    sa.Column('volume', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_device_case_prices_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_case_prices')),
    sa.UniqueConstraint('difficulty', 'volume', 'currency',
                        name=op.f('uq_device_case_prices_difficulty'))
    )
    op.create_table('device_case_charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('difficulty', sa.String(length=20), nullable=False),
    sa.Column('volume', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_device_case_charges_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['case_id'], ['device_cases.id'], name=op.f('fk_device_case_charges_case_id_device_cases')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_device_case_charges_created_by_id_users')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'],
                            name=op.f('fk_device_case_charges_invoice_id_billing_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_case_charges')),
    sa.UniqueConstraint('case_id', name=op.f('uq_device_case_charges_case_id')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_device_case_charges_invoice_id'))
    )
    op.create_index(op.f('ix_device_case_charges_account_id'), 'device_case_charges', ['account_id'], unique=False)
    op.create_table('device_debt_crossings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('debt', sa.BigInteger(), nullable=False),
    sa.Column('ceiling', sa.BigInteger(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=True),
    sa.Column('crossed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_device_debt_crossings_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['charge_id'], ['device_case_charges.id'],
                            name=op.f('fk_device_debt_crossings_charge_id_device_case_charges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_debt_crossings'))
    )
    op.create_index(op.f('ix_device_debt_crossings_account_id'), 'device_debt_crossings', ['account_id'],
                    unique=False)
    op.create_index('ix_device_debt_crossings_open', 'device_debt_crossings', ['account_id', 'currency'],
                    unique=True, postgresql_where=sa.text('cleared_at IS NULL'),
                    sqlite_where=sa.text('cleared_at IS NULL'))


def downgrade():
    op.drop_index('ix_device_debt_crossings_open', table_name='device_debt_crossings',
                  postgresql_where=sa.text('cleared_at IS NULL'), sqlite_where=sa.text('cleared_at IS NULL'))
    op.drop_index(op.f('ix_device_debt_crossings_account_id'), table_name='device_debt_crossings')
    op.drop_table('device_debt_crossings')
    op.drop_index(op.f('ix_device_case_charges_account_id'), table_name='device_case_charges')
    op.drop_table('device_case_charges')
    op.drop_table('device_case_prices')
    op.drop_index(op.f('ix_device_cases_state'), table_name='device_cases')
    op.drop_index(op.f('ix_device_cases_device_id'), table_name='device_cases')
    op.drop_index(op.f('ix_device_cases_account_id'), table_name='device_cases')
    op.drop_table('device_cases')
