"""PostgreSQL full-text search (issue 22): the search_documents table and the text search configurations of
helpdesk.search.postgres_backend. PostgreSQL only: on SQLite this revision does nothing (Whoosh searches there).

Revision ID: 0042
Revises: 0041
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None

# Text search configuration -> the stemming dictionary after unaccent (text reaches PostgreSQL folded by
# helpdesk.search.folding already; unaccent catches what the fold leaves, e.g. in a language it does not know).
CONFIGURATIONS = {"helpdesk_simple": "simple", "helpdesk_en": "english_stem", "helpdesk_de": "german_stem",
                  "helpdesk_tr": "turkish_stem", "helpdesk_hu": "hungarian_stem"}
WORD_TOKENS = "asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    for name, dictionary in CONFIGURATIONS.items():
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = simple)")
        op.execute(f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR {WORD_TOKENS} "
                   f"WITH unaccent, {dictionary}")
    op.execute("""
        CREATE TABLE search_documents (
            collection varchar(40) NOT NULL,
            key varchar(200) NOT NULL,
            tags text[] NOT NULL DEFAULT '{}',
            dates jsonb NOT NULL DEFAULT '{}',
            stored jsonb NOT NULL DEFAULT '{}',
            recent timestamp,
            vector tsvector NOT NULL,
            indexed_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_search_documents PRIMARY KEY (collection, key)
        )""")
    op.execute("CREATE INDEX ix_search_documents_vector ON search_documents USING gin (vector)")
    op.execute("CREATE INDEX ix_search_documents_tags ON search_documents USING gin (tags)")
    op.execute("CREATE INDEX ix_search_documents_recent ON search_documents (collection, recent DESC)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE search_documents")
    for name in CONFIGURATIONS:
        op.execute(f"DROP TEXT SEARCH CONFIGURATION {name}")
