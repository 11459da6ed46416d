"""sms_announcements: the SMS outbox and announcements (issue 19)

Revision ID: 0036
Revises: 0035
"""
from alembic import op
import sqlalchemy as sa

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sms_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('provider_id', sa.String(length=100), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sms_messages_user_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_messages')),
    sa.UniqueConstraint('reference', name=op.f('uq_sms_messages_reference'))
    )
    op.create_index('ix_sms_messages_due', 'sms_messages', ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_sms_messages_phone'), 'sms_messages', ['phone'], unique=False)
    op.create_index(op.f('ix_sms_messages_user_id'), 'sms_messages', ['user_id'], unique=False)
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('device_type_id', sa.Integer(), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_account_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('accounts_told', sa.Integer(), server_default='0', nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_type_id'], ['device_types.id'],
                            name=op.f('fk_announcements_device_type_id_device_types')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_announcements_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    op.create_index(op.f('ix_announcements_device_type_id'), 'announcements', ['device_type_id'], unique=False)
    op.create_index(op.f('ix_announcements_published_at'), 'announcements', ['published_at'], unique=False)
    op.create_table('announcement_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_announcement_deliveries_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'],
                            name=op.f('fk_announcement_deliveries_announcement_id_announcements'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcement_deliveries')),
    sa.UniqueConstraint('announcement_id', 'account_id',
                        name=op.f('uq_announcement_deliveries_announcement_id'))
    )
    op.create_index(op.f('ix_announcement_deliveries_account_id'), 'announcement_deliveries', ['account_id'],
                    unique=False)
    op.create_table('announcement_dismissals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'],
                            name=op.f('fk_announcement_dismissals_announcement_id_announcements'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_announcement_dismissals_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcement_dismissals')),
    sa.UniqueConstraint('announcement_id', 'user_id', name=op.f('uq_announcement_dismissals_announcement_id'))
    )
    op.create_index(op.f('ix_announcement_dismissals_user_id'), 'announcement_dismissals', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_announcement_dismissals_user_id'), table_name='announcement_dismissals')
    op.drop_table('announcement_dismissals')
    op.drop_index(op.f('ix_announcement_deliveries_account_id'), table_name='announcement_deliveries')
    op.drop_table('announcement_deliveries')
    op.drop_index(op.f('ix_announcements_published_at'), table_name='announcements')
    op.drop_index(op.f('ix_announcements_device_type_id'), table_name='announcements')
    op.drop_table('announcements')
    op.drop_index(op.f('ix_sms_messages_user_id'), table_name='sms_messages')
    op.drop_index(op.f('ix_sms_messages_phone'), table_name='sms_messages')
    op.drop_index('ix_sms_messages_due', table_name='sms_messages')
    op.drop_table('sms_messages')
