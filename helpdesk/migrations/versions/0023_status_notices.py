"""service-status notices (issue 17): notices (incident or maintenance, severity, status, texts per language, start
and expected end), what they affect as (kind, id) rows (products and services; devices later), their updates, the
mailings that tell affected customers, and customers' opt-outs from maintenance mail

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('status_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_status_notices_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_notices'))
    )
    with op.batch_alter_table('status_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_notices_resolved_at'), ['resolved_at'], unique=False)

    op.create_table('status_notice_affects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['status_notices.id'], name=op.f('fk_status_notice_affects_notice_id_status_notices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_notice_affects')),
    sa.UniqueConstraint('notice_id', 'kind', 'target_id', name=op.f('uq_status_notice_affects_notice_id'))
    )
    with op.batch_alter_table('status_notice_affects', schema=None) as batch_op:
        batch_op.create_index('ix_status_notice_affects_target', ['kind', 'target_id'], unique=False)

    op.create_table('status_notice_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_status_notice_updates_author_id_users')),
    sa.ForeignKeyConstraint(['notice_id'], ['status_notices.id'], name=op.f('fk_status_notice_updates_notice_id_status_notices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_notice_updates'))
    )
    with op.batch_alter_table('status_notice_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_notice_updates_notice_id'), ['notice_id'], unique=False)

    op.create_table('status_notice_mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('update_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_user_id', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['status_notices.id'], name=op.f('fk_status_notice_mailings_notice_id_status_notices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['update_id'], ['status_notice_updates.id'], name=op.f('fk_status_notice_mailings_update_id_status_notice_updates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_notice_mailings'))
    )
    with op.batch_alter_table('status_notice_mailings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_notice_mailings_notice_id'), ['notice_id'], unique=False)

    op.create_table('status_mail_opt_outs',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_status_mail_opt_outs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_status_mail_opt_outs'))
    )


def downgrade():
    op.drop_table('status_mail_opt_outs')
    with op.batch_alter_table('status_notice_mailings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_notice_mailings_notice_id'))

    op.drop_table('status_notice_mailings')
    with op.batch_alter_table('status_notice_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_notice_updates_notice_id'))

    op.drop_table('status_notice_updates')
    with op.batch_alter_table('status_notice_affects', schema=None) as batch_op:
        batch_op.drop_index('ix_status_notice_affects_target')

    op.drop_table('status_notice_affects')
    with op.batch_alter_table('status_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_notices_resolved_at'))

    op.drop_table('status_notices')
