"""knowledge base folder titles per language: a folder's title and description in other languages than the
desk's default (the folder row keeps the default language's)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kb_folder_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folder_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["folder_id"], ["kb_folders.id"],
                                name="fk_kb_folder_translations_folder_id_kb_folders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_folder_translations"),
        sa.UniqueConstraint("folder_id", "language", name="uq_kb_folder_translations_folder_language"),
    )


def downgrade():
    op.drop_table("kb_folder_translations")
