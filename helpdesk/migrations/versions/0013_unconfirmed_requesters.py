"""guest-form tickets in a registered user's name wait for the owner's confirmation; stored addresses with an
internationalised domain take its ASCII (xn--) form, the form every door now stores

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (SQLite has it too): batch mode would reflect the table, which cannot read back the
    # queue's expression indexes.
    op.add_column("tickets", sa.Column("requester_unconfirmed", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    _ascii_domains("users")
    _ascii_domains("participants", "ticket_id")


def _non_ascii(column):
    if op.get_bind().dialect.name == "sqlite":
        return sa.func.length(sa.cast(column, sa.LargeBinary)) != sa.func.length(column)
    return sa.func.octet_length(column) != sa.func.length(column)


def _ascii_domains(name, scope=None):
    """Rewrite addresses whose domain is not ASCII; one that would collide with an existing row stays as it is."""
    conn = op.get_bind()
    columns = [sa.column("id"), sa.column("email")] + ([sa.column(scope)] if scope else [])
    table = sa.table(name, *columns)
    for row in conn.execute(sa.select(*table.c).where(_non_ascii(table.c.email))).mappings().all():
        local, _, domain = row["email"].rpartition("@")
        try:
            ascii_domain = validate_email(f"a@{domain}", check_deliverability=False).ascii_domain
        except EmailNotValidError:
            continue
        new = f"{local}@{ascii_domain}".lower()
        taken = sa.select(table.c.id).where(table.c.email == new)
        if scope:
            taken = taken.where(table.c[scope] == row[scope])
        if new == row["email"] or conn.execute(taken).first():
            continue
        conn.execute(sa.update(table).where(table.c.id == row["id"]).values(email=new))


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("requester_unconfirmed")
