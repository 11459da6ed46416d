"""Knowledge base tables: folders, articles with their translations and revisions, and readers' votes."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# Who may read a folder (and so its articles).
PUBLIC = "public"
CUSTOMERS = "customers"
INTERNAL = "internal"
VISIBILITIES = {PUBLIC: _l("Public"), CUSTOMERS: _l("Customers only"), INTERNAL: _l("Internal (agents)")}

# What kind of folder: ordinary, or "latest news" shown on the portal's start page.
STANDARD = "standard"
NEWS = "news"
FOLDER_KINDS = {STANDARD: _l("Articles"), NEWS: _l("Latest news")}

DRAFT = "draft"
PUBLISHED = "published"
ARTICLE_STATUSES = {DRAFT: _l("Draft"), PUBLISHED: _l("Published")}

MARKDOWN = "markdown"
RICH_TEXT = "html"
BODY_FORMATS = {MARKDOWN: _l("Markdown"), RICH_TEXT: _l("Rich text (HTML)")}


class KBFolder(db.Model):
    """A category of articles; a folder sits at the top or inside one top-level folder (two levels)."""

    __tablename__ = "kb_folders"

    id = sa.Column(sa.Integer, primary_key=True)
    parent_id = sa.Column(sa.Integer, sa.ForeignKey("kb_folders.id", ondelete="CASCADE"), index=True)
    title = sa.Column(sa.String(200), nullable=False)
    description = sa.Column(sa.Text, nullable=False, default="")
    position = sa.Column(sa.Integer, nullable=False, default=0)
    visibility = sa.Column(sa.String(20), nullable=False, default=PUBLIC)
    kind = sa.Column(sa.String(20), nullable=False, default=STANDARD)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    parent = relationship("KBFolder", remote_side=[id], back_populates="children")
    children = relationship("KBFolder", back_populates="parent", order_by="KBFolder.position")
    articles = relationship("KBArticle", back_populates="folder", order_by="KBArticle.position")
    translations = relationship("KBFolderTranslation", back_populates="folder", cascade="all, delete-orphan",
                                order_by="KBFolderTranslation.language")

    def title_in(self, language):
        """The title for a reader of ``language``: its translation, else the default language's (``title``)."""
        translated = self._translated(language)
        return translated.title if translated else self.title

    def description_in(self, language):
        translated = self._translated(language)
        return translated.description if translated and translated.description else self.description

    def _translated(self, language):
        return next((t for t in self.translations if t.language == language and t.title), None)

    @property
    def visibility_label(self):
        return VISIBILITIES.get(self.visibility, self.visibility)

    @property
    def is_news(self):
        return self.kind == NEWS

    def __repr__(self):
        return f"<KBFolder {self.id} {self.title!r}>"


class KBFolderTranslation(db.Model):
    """A folder's title and description in one language other than the desk's default (the folder row holds
    the default language's)."""

    __tablename__ = "kb_folder_translations"
    __table_args__ = (sa.UniqueConstraint("folder_id", "language", name="uq_kb_folder_translations_folder_language"),)

    id = sa.Column(sa.Integer, primary_key=True)
    folder_id = sa.Column(sa.Integer, sa.ForeignKey("kb_folders.id", ondelete="CASCADE"), nullable=False)
    language = sa.Column(sa.String(10), nullable=False)
    title = sa.Column(sa.String(200), nullable=False)
    description = sa.Column(sa.Text, nullable=False, default="")

    folder = relationship(KBFolder, back_populates="translations")


class KBArticle(db.Model):
    """An article: language-independent facts here, its text per language in ``translations``."""

    __tablename__ = "kb_articles"

    id = sa.Column(sa.Integer, primary_key=True)
    folder_id = sa.Column(sa.Integer, sa.ForeignKey("kb_folders.id"), nullable=False, index=True)
    position = sa.Column(sa.Integer, nullable=False, default=0)
    status = sa.Column(sa.String(20), nullable=False, default=DRAFT)
    tags = sa.Column(sa.String(500), nullable=False, default="")  # comma-separated, lower-cased
    product = sa.Column(sa.String(200), nullable=False, default="")  # product or device type, optional
    video_url = sa.Column(sa.String(500))  # an embed URL on one of KB_VIDEO_HOSTS
    video_key = sa.Column(sa.String(64))  # an uploaded video in storage
    video_filename = sa.Column(sa.String(255))
    video_content_type = sa.Column(sa.String(100))
    author_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), nullable=False)
    editor_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    published_at = sa.Column(UTCDateTime)

    folder = relationship(KBFolder, back_populates="articles")
    author = relationship("User", foreign_keys=[author_id])
    editor = relationship("User", foreign_keys=[editor_id])
    translations = relationship("KBTranslation", back_populates="article", cascade="all, delete-orphan",
                                order_by="KBTranslation.language")
    revisions = relationship("KBRevision", back_populates="article", cascade="all, delete-orphan",
                             order_by="KBRevision.number.desc()")

    @property
    def tag_list(self):
        return [t for t in self.tags.split(",") if t]

    @property
    def is_published(self):
        return self.status == PUBLISHED

    @property
    def status_label(self):
        return ARTICLE_STATUSES.get(self.status, self.status)

    @property
    def languages(self):
        return [t.language for t in self.translations]

    def translation(self, language, default_language):
        """The text for a reader of ``language``: theirs, else the default language's, else any."""
        by_language = {t.language: t for t in self.translations}
        return by_language.get(language) or by_language.get(default_language) or next(iter(self.translations), None)

    def __repr__(self):
        return f"<KBArticle {self.id}>"


class KBTranslation(db.Model):
    """An article's title and body in one language. ``body_html`` is the sanitised rendering of ``body``."""

    __tablename__ = "kb_translations"
    __table_args__ = (sa.UniqueConstraint("article_id", "language", name="uq_kb_translations_article_language"),)

    id = sa.Column(sa.Integer, primary_key=True)
    article_id = sa.Column(sa.Integer, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False)
    language = sa.Column(sa.String(10), nullable=False)
    title = sa.Column(sa.String(255), nullable=False)
    body = sa.Column(sa.Text, nullable=False, default="")
    body_format = sa.Column(sa.String(20), nullable=False, default=MARKDOWN)
    body_html = sa.Column(sa.Text, nullable=False, default="")
    body_text = sa.Column(sa.Text, nullable=False, default="")  # for search and snippets
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    article = relationship(KBArticle, back_populates="translations")


class KBRevision(db.Model):
    """A snapshot of an article after one edit; restoring one applies it as a new edit."""

    __tablename__ = "kb_revisions"
    __table_args__ = (sa.UniqueConstraint("article_id", "number", name="uq_kb_revisions_article_number"),)

    id = sa.Column(sa.Integer, primary_key=True)
    article_id = sa.Column(sa.Integer, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False)
    number = sa.Column(sa.Integer, nullable=False)
    editor_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    summary = sa.Column(sa.String(200), nullable=False, default="")
    snapshot = sa.Column(sa.JSON, nullable=False)

    article = relationship(KBArticle, back_populates="revisions")
    editor = relationship("User")


class KBVote(db.Model):
    """One reader's "was this helpful?" answer to one article, changeable. ``reader`` is ``user:<id>`` for
    a logged-in reader and ``anon:<random id>`` for a guest's browser."""

    __tablename__ = "kb_votes"
    __table_args__ = (sa.UniqueConstraint("article_id", "reader", name="uq_kb_votes_article_reader"),)

    id = sa.Column(sa.Integer, primary_key=True)
    article_id = sa.Column(sa.Integer, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    reader = sa.Column(sa.String(80), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    helpful = sa.Column(sa.Boolean, nullable=False)
    comment = sa.Column(sa.Text, nullable=False, default="")
    email = sa.Column(sa.String(254))
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    article = relationship(KBArticle)
    user = relationship("User")
    ticket = relationship("Ticket")
