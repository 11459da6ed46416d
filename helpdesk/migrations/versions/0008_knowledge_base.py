"""knowledge base: folders, articles, translations, revisions, votes; the editor right on users

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kb_editor", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "kb_folders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["kb_folders.id"], name="fk_kb_folders_parent_id_kb_folders",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_folders"),
    )
    op.create_index("ix_kb_folders_parent_id", "kb_folders", ["parent_id"])

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folder_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("tags", sa.String(500), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("video_url", sa.String(500), nullable=True),
        sa.Column("video_key", sa.String(64), nullable=True),
        sa.Column("video_filename", sa.String(255), nullable=True),
        sa.Column("video_content_type", sa.String(100), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["folder_id"], ["kb_folders.id"], name="fk_kb_articles_folder_id_kb_folders"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name="fk_kb_articles_author_id_users"),
        sa.ForeignKeyConstraint(["editor_id"], ["users.id"], name="fk_kb_articles_editor_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_articles"),
    )
    op.create_index("ix_kb_articles_folder_id", "kb_articles", ["folder_id"])

    op.create_table(
        "kb_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_format", sa.String(20), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_translations_article_id_kb_articles",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_translations"),
        sa.UniqueConstraint("article_id", "language", name="uq_kb_translations_article_language"),
    )

    op.create_table(
        "kb_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_revisions_article_id_kb_articles",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["editor_id"], ["users.id"], name="fk_kb_revisions_editor_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_revisions"),
        sa.UniqueConstraint("article_id", "number", name="uq_kb_revisions_article_number"),
    )

    op.create_table(
        "kb_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("reader", sa.String(80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_votes_article_id_kb_articles",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_kb_votes_user_id_users", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_kb_votes_ticket_id_tickets",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_votes"),
        sa.UniqueConstraint("article_id", "reader", name="uq_kb_votes_article_reader"),
    )
    op.create_index("ix_kb_votes_article_id", "kb_votes", ["article_id"])


def downgrade():
    op.drop_index("ix_kb_votes_article_id", table_name="kb_votes")
    op.drop_table("kb_votes")
    op.drop_table("kb_revisions")
    op.drop_table("kb_translations")
    op.drop_index("ix_kb_articles_folder_id", table_name="kb_articles")
    op.drop_table("kb_articles")
    op.drop_index("ix_kb_folders_parent_id", table_name="kb_folders")
    op.drop_table("kb_folders")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("kb_editor")
