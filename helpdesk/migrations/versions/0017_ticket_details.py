"""ticket details: the facts a customer gives with a new ticket (order or service reference, server IP, when
the problem started and in which time zone, diagnostics such as traceroute output, the service they picked,
a guest's company and customer number) as fields of the ticket instead of English text in its first message

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ticket_details",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("server_ip", sa.String(length=45), nullable=True),
        sa.Column("problem_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("problem_timezone", sa.String(length=64), nullable=True),
        sa.Column("diagnostics", sa.Text(), nullable=True),
        sa.Column("service_ref", sa.String(length=100), nullable=True),
        sa.Column("service_label", sa.String(length=200), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("customer_number", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_details_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_details")),
    )
    op.create_index(op.f("ix_ticket_details_reference"), "ticket_details", ["reference"])
    op.create_index(op.f("ix_ticket_details_server_ip"), "ticket_details", ["server_ip"])


def downgrade():
    op.drop_index(op.f("ix_ticket_details_server_ip"), table_name="ticket_details")
    op.drop_index(op.f("ix_ticket_details_reference"), table_name="ticket_details")
    op.drop_table("ticket_details")
