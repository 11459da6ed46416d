"""social login identities (issue 18)

Revision ID: 0028
Revises: 0027
"""
from alembic import op
import sqlalchemy as sa

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('social_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_verified', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_social_identities_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_social_identities')),
    sa.UniqueConstraint('provider', 'subject', name=op.f('uq_social_identities_provider'))
    )
    op.create_index(op.f('ix_social_identities_user_id'), 'social_identities', ['user_id'], unique=False)
    op.create_table('social_login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_social_login_attempts')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_social_login_attempts_state_hash'))
    )
    op.create_index(op.f('ix_social_login_attempts_expires_at'), 'social_login_attempts', ['expires_at'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_social_login_attempts_expires_at'), table_name='social_login_attempts')
    op.drop_table('social_login_attempts')
    op.drop_index(op.f('ix_social_identities_user_id'), table_name='social_identities')
    op.drop_table('social_identities')
