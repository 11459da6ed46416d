"""customer accounts and memberships: a login is a member of one or more accounts (issue 18)

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('share_tickets', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_accounts'))
    )
    op.create_table('account_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('is_owner', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_tickets', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('can_billing', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_services', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_vault_view', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_vault_edit', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('can_members', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_account_memberships_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_memberships_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_memberships')),
    sa.UniqueConstraint('account_id', 'user_id', name=op.f('uq_account_memberships_account_id'))
    )
    op.create_index(op.f('ix_account_memberships_user_id'), 'account_memberships', ['user_id'], unique=False)
    op.create_table('account_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('permissions', sa.JSON(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'],
                            name=op.f('fk_account_invitations_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_account_invitations_invited_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'],
                            name=op.f('fk_account_invitations_accepted_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_invitations_token_hash'))
    )
    op.create_index(op.f('ix_account_invitations_account_id'), 'account_invitations', ['account_id'], unique=False)
    # Who did what: the account a customer acted for. No foreign key, as for the actor: the trail outlives both.
    op.add_column('audit_events', sa.Column('account_id', sa.Integer(), nullable=True))
    op.create_index('ix_audit_events_account', 'audit_events', ['account_id', 'id'], unique=False)
    _give_every_customer_an_account()


# The columns the data step reads and writes, as they are at this revision.
_users = sa.table('users', sa.column('id', sa.Integer()), sa.column('email', sa.String()),
                  sa.column('full_name', sa.String()), sa.column('role', sa.String()),
                  sa.column('organisation_id', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)))
_organisations = sa.table('organisations', sa.column('id', sa.Integer()), sa.column('name', sa.String()),
                          sa.column('share_tickets', sa.Boolean()))
_accounts = sa.table('customer_accounts', sa.column('id', sa.Integer()), sa.column('name', sa.String()),
                     sa.column('kind', sa.String()), sa.column('share_tickets', sa.Boolean()),
                     sa.column('created_at', sa.DateTime(timezone=True)))
_memberships = sa.table('account_memberships', *(sa.column(name) for name in (
    'account_id', 'user_id', 'is_owner', 'can_tickets', 'can_billing', 'can_services', 'can_vault_view',
    'can_vault_edit', 'can_members', 'created_at')))


def _give_every_customer_an_account():
    """Every customer becomes the owner of one account of their own, with every permission: named after their
    organisation (a business, sharing tickets as it did) or themselves (an individual). Two statements whatever
    the number of customers: the new table is empty, so each account takes its owner's user id, which pairs
    them without a lookup; PostgreSQL's sequence then moves past the copied ids (SQLite takes max + 1 itself)."""
    customers = (sa.select(_users.c.id, _users.c.email, _users.c.full_name, _users.c.created_at,
                           _organisations.c.id.label('organisation_id'), _organisations.c.name.label('org_name'),
                           _organisations.c.share_tickets)
                 .select_from(_users.outerjoin(_organisations, _organisations.c.id == _users.c.organisation_id))
                 .where(_users.c.role == 'customer').subquery())
    has_organisation = customers.c.organisation_id.is_not(None)
    name = sa.func.coalesce(sa.func.nullif(customers.c.org_name, ''), sa.func.nullif(customers.c.full_name, ''),
                            customers.c.email)
    op.execute(_accounts.insert().from_select(
        ['id', 'name', 'kind', 'share_tickets', 'created_at'],
        sa.select(customers.c.id, name, sa.case((has_organisation, 'business'), else_='individual'),
                  sa.case((customers.c.share_tickets.is_(True), sa.true()), else_=sa.false()),
                  customers.c.created_at)))
    true = sa.true()
    op.execute(_memberships.insert().from_select(
        ['account_id', 'user_id', 'is_owner', 'can_tickets', 'can_billing', 'can_services', 'can_vault_view',
         'can_vault_edit', 'can_members', 'created_at'],
        sa.select(_users.c.id, _users.c.id, true, true, true, true, true, true, true, _users.c.created_at)
        .where(_users.c.role == 'customer')))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('customer_accounts', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM customer_accounts), 0) + 1, false)")


def downgrade():
    op.drop_index('ix_audit_events_account', table_name='audit_events')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('account_id')
    op.drop_index(op.f('ix_account_invitations_account_id'), table_name='account_invitations')
    op.drop_table('account_invitations')
    op.drop_index(op.f('ix_account_memberships_user_id'), table_name='account_memberships')
    op.drop_table('account_memberships')
    op.drop_table('customer_accounts')
