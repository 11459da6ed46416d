"""crm_videos: CRM sync and video licences (issue 19)

Revision ID: 0037
Revises: 0036
"""
from alembic import op
import sqlalchemy as sa

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('note_sent', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_crm_outbox_device_id_devices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_outbox'))
    )
    op.create_index(op.f('ix_crm_outbox_device_id'), 'crm_outbox', ['device_id'], unique=False)
    op.create_index('ix_crm_outbox_due', 'crm_outbox', ['status', 'next_attempt_at'], unique=False)
    op.create_table('crm_device_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('crm_id', sa.String(length=100), nullable=False),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_crm_device_links_device_id_devices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_device_links')),
    sa.UniqueConstraint('device_id', name=op.f('uq_crm_device_links_device_id'))
    )
    op.create_table('video_courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('course_ids', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['billing_products.id'],
                            name=op.f('fk_video_courses_product_id_billing_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_courses')),
    sa.UniqueConstraint('product_id', name=op.f('uq_video_courses_product_id'))
    )
    op.create_table('video_licences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('holder_phone', sa.String(length=30), nullable=False),
    sa.Column('licence_id', sa.String(length=100), nullable=True),
    sa.Column('key_sealed', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_video_licences_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['product_id'], ['billing_products.id'],
                            name=op.f('fk_video_licences_product_id_billing_products')),
    sa.ForeignKeyConstraint(['service_id'], ['billing_services.id'],
                            name=op.f('fk_video_licences_service_id_billing_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_licences')),
    sa.UniqueConstraint('service_id', name=op.f('uq_video_licences_service_id'))
    )
    op.create_index(op.f('ix_video_licences_account_id'), 'video_licences', ['account_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_video_licences_account_id'), table_name='video_licences')
    op.drop_table('video_licences')
    op.drop_table('video_courses')
    op.drop_table('crm_device_links')
    op.drop_index('ix_crm_outbox_due', table_name='crm_outbox')
    op.drop_index(op.f('ix_crm_outbox_device_id'), table_name='crm_outbox')
    op.drop_table('crm_outbox')
