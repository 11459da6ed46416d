"""identity verification of individual accounts (issue 18)

Revision ID: 0026
Revises: 0025
"""
from alembic import op
import sqlalchemy as sa

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customer_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verification_status', sa.String(length=20), server_default='none',
                                      nullable=False))
        batch_op.add_column(sa.Column('verification_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('verification_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('verification_decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('verification_decided_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_customer_accounts_verification_decided_by_id_users'), 'users',
                                    ['verification_decided_by_id'], ['id'], ondelete='SET NULL')
    op.create_table('identity_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_identity_documents_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_identity_documents_ticket_id_tickets'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_identity_documents_uploaded_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_documents')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_identity_documents_storage_key'))
    )
    with op.batch_alter_table('identity_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_documents_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_documents_decided_at'), ['decided_at'], unique=False)
    op.create_table('verification_staff',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_verification_staff_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_verification_staff'))
    )
    op.create_table('identity_held_orders',
    sa.Column('order_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_identity_held_orders_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['billing_orders.id'],
                            name=op.f('fk_identity_held_orders_order_id_billing_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_identity_held_orders'))
    )
    with op.batch_alter_table('identity_held_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_held_orders_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('identity_held_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_held_orders_account_id'))
    op.drop_table('identity_held_orders')
    op.drop_table('verification_staff')
    with op.batch_alter_table('identity_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_documents_decided_at'))
        batch_op.drop_index(batch_op.f('ix_identity_documents_account_id'))
    op.drop_table('identity_documents')
    with op.batch_alter_table('customer_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_accounts_verification_decided_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('verification_decided_by_id')
        batch_op.drop_column('verification_decided_at')
        batch_op.drop_column('verification_reason')
        batch_op.drop_column('verification_requested_at')
        batch_op.drop_column('verification_status')
