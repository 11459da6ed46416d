"""billing accounts, tickets and contact addresses belong to customer accounts (issue 18)

Each billing account goes to the account its user owns (0025 made one per customer; one is made here for a billing
account whose user has none, so no bill is left without an account), each ticket to its requester's owned account
(guests' unconfirmed tickets to none), and an organisation's ticket sharing becomes its members' accounts' setting.

Revision ID: 0030
Revises: 0029
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# 0011's expression indexes on tickets, as it made them.
_URGENCY = ("(CASE WHEN (priority = 'urgent') THEN 3 WHEN (priority = 'high') THEN 2 "
            "WHEN (priority = 'normal') THEN 1 WHEN (priority = 'low') THEN 0 ELSE 1 END)")
_EXPRESSION_INDEXES = {"ix_tickets_open_urgency_activity": "status <> 'closed'",
                       "ix_tickets_closed_urgency_activity": "status = 'closed'"}

_accounts = sa.table("customer_accounts", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("kind", sa.String), sa.column("share_tickets", sa.Boolean),
                     sa.column("created_at", sa.DateTime(timezone=True)))
_members = sa.table("account_memberships", sa.column("account_id", sa.Integer), sa.column("user_id", sa.Integer),
                    sa.column("is_owner", sa.Boolean), sa.column("can_tickets", sa.Boolean),
                    sa.column("can_billing", sa.Boolean), sa.column("can_services", sa.Boolean),
                    sa.column("can_vault_view", sa.Boolean), sa.column("can_vault_edit", sa.Boolean),
                    sa.column("can_members", sa.Boolean), sa.column("created_at", sa.DateTime(timezone=True)))
_billing = sa.table("billing_accounts", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
                    sa.column("name", sa.String), sa.column("customer_type", sa.String),
                    sa.column("customer_account_id", sa.Integer))
_tickets = sa.table("tickets", sa.column("requester_id", sa.Integer), sa.column("requester_unconfirmed", sa.Boolean),
                    sa.column("customer_account_id", sa.Integer))
_users = sa.table("users", sa.column("id", sa.Integer), sa.column("organisation_id", sa.Integer))
_organisations = sa.table("organisations", sa.column("id", sa.Integer), sa.column("share_tickets", sa.Boolean))


def _owned_account(user_id_column):
    """The first account the user in ``user_id_column`` owns (a correlated scalar subquery)."""
    return (sa.select(sa.func.min(_members.c.account_id))
            .where(_members.c.user_id == user_id_column, _members.c.is_owner.is_(True)).scalar_subquery())


def _give_every_billed_user_an_account(conn):
    owners = sa.select(_members.c.user_id).where(_members.c.is_owner.is_(True))
    orphans = conn.execute(sa.select(_billing.c.user_id, _billing.c.name, _billing.c.customer_type)
                           .where(_billing.c.user_id.not_in(owners)).order_by(_billing.c.id)).all()
    now = datetime.now(UTC)
    for user_id, name, customer_type in orphans:
        account_id = conn.execute(_accounts.insert().values(
            name=name or "", kind="business" if customer_type == "business" else "individual", share_tickets=False,
            created_at=now).returning(_accounts.c.id)).scalar_one()
        conn.execute(_members.insert().values(
            account_id=account_id, user_id=user_id, is_owner=True, can_tickets=True, can_billing=True,
            can_services=True, can_vault_view=True, can_vault_edit=True, can_members=True, created_at=now))


def _move_records(conn):
    _give_every_billed_user_an_account(conn)
    conn.execute(_billing.update().values(customer_account_id=_owned_account(_billing.c.user_id)))
    conn.execute(_tickets.update().where(_tickets.c.requester_unconfirmed.is_(False))
                 .values(customer_account_id=_owned_account(_tickets.c.requester_id)))
    sharing = (sa.select(_members.c.account_id).select_from(
        _members.join(_users, _users.c.id == _members.c.user_id)
        .join(_organisations, _organisations.c.id == _users.c.organisation_id))
        .where(_members.c.is_owner.is_(True), _organisations.c.share_tickets.is_(True)))
    conn.execute(_accounts.update().where(_accounts.c.id.in_(sharing)).values(share_tickets=True))


# On SQLite the copies of billing_accounts (and of tickets on the way down) keep the rows referring to them: the
# migration environment runs with foreign keys unenforced and checks them before its commit (env.py).


def upgrade():
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_account_id', sa.Integer(), nullable=True))
    # A plain ADD COLUMN on tickets: a batch copy of the table on SQLite would lose its expression indexes (0011).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE tickets ADD COLUMN customer_account_id INTEGER '
                   'CONSTRAINT fk_tickets_customer_account_id_customer_accounts REFERENCES customer_accounts (id)')
    else:
        op.add_column('tickets', sa.Column('customer_account_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_tickets_customer_account_id_customer_accounts'), 'tickets',
                              'customer_accounts', ['customer_account_id'], ['id'])
    op.create_index(op.f('ix_tickets_customer_account_id'), 'tickets', ['customer_account_id'], unique=False)

    _move_records(op.get_bind())

    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.alter_column('customer_account_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint(batch_op.f('uq_billing_accounts_user_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_billing_accounts_customer_account_id'),
                                          ['customer_account_id'])
        batch_op.create_foreign_key(batch_op.f('fk_billing_accounts_customer_account_id_customer_accounts'),
                                    'customer_accounts', ['customer_account_id'], ['id'])


def downgrade():
    conn = op.get_bind()
    # Every billing account names a user again: the owner of its customer account where it lost its own.
    owner = (sa.select(sa.func.min(_members.c.user_id))
             .where(_members.c.account_id == _billing.c.customer_account_id, _members.c.is_owner.is_(True))
             .scalar_subquery())
    conn.execute(_billing.update().where(_billing.c.user_id.is_(None)).values(user_id=owner))
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_billing_accounts_customer_account_id_customer_accounts'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_billing_accounts_customer_account_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_billing_accounts_user_id'), ['user_id'])
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('customer_account_id')

    op.drop_index(op.f('ix_tickets_customer_account_id'), table_name='tickets')
    if conn.dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_tickets_customer_account_id_customer_accounts'), 'tickets', type_='foreignkey')
        op.drop_column('tickets', 'customer_account_id')
        return
    # SQLite drops a column with a foreign key only by copying the table, which loses 0011's expression indexes.
    for name in _EXPRESSION_INDEXES:
        op.execute(f"DROP INDEX {name}")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('customer_account_id')
    for name, where in _EXPRESSION_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON tickets ({_URGENCY}, last_activity_at, id) WHERE {where}")
