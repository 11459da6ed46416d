"""Who may read and edit what in the knowledge base, as checks and as query filters.

Readers of the portal (guests, customers, and agents looking at the portal) see published articles in
public folders, and customers-only folders once logged in. Internal folders and drafts exist only in
the staff console: agents read internal articles there, editors also see and change drafts."""
import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from helpdesk.kb.models import CUSTOMERS, INTERNAL, PUBLIC, PUBLISHED, KBArticle, KBFolder


def is_editor(actor) -> bool:
    """Admins always; agents with the editor right; the system (CLI, demo data)."""
    if actor is None:
        return False
    if actor.is_system or actor.is_admin:
        return True
    return bool(actor.is_agent and getattr(actor, "kb_editor", False))


def require_editor(actor):
    if not is_editor(actor):
        raise NotAllowed()


def audience(actor, *, console=False) -> tuple[str, ...]:
    """The folder visibilities ``actor`` reads: on the portal (``console`` false) or in the staff console."""
    if actor is None:
        return (PUBLIC,)
    if console and (actor.is_agent or actor.is_system):
        return (PUBLIC, CUSTOMERS, INTERNAL)
    if actor.is_system or actor.is_agent or actor.is_customer:
        return (PUBLIC, CUSTOMERS)
    return (PUBLIC,)


def sees_drafts(actor, *, console=False) -> bool:
    return console and is_editor(actor)


def visible_folders(actor, *, console=False):
    """A SELECT of the folders ``actor`` may open: the folder's and its parent's visibility both allow it."""
    allowed = audience(actor, console=console)
    parent = aliased(KBFolder)
    return (sa.select(KBFolder).outerjoin(parent, KBFolder.parent_id == parent.id)
            .where(KBFolder.visibility.in_(allowed), sa.or_(parent.id.is_(None), parent.visibility.in_(allowed))))


def visible_articles(actor, *, console=False):
    """A SELECT of the articles ``actor`` may read."""
    allowed = audience(actor, console=console)
    parent = aliased(KBFolder)
    statement = (sa.select(KBArticle).join(KBFolder, KBArticle.folder_id == KBFolder.id)
                 .outerjoin(parent, KBFolder.parent_id == parent.id)
                 .where(KBFolder.visibility.in_(allowed),
                        sa.or_(parent.id.is_(None), parent.visibility.in_(allowed))))
    if not sees_drafts(actor, console=console):
        statement = statement.where(KBArticle.status == PUBLISHED)
    return statement


def get_folder(actor, folder_id, *, console=False) -> KBFolder:
    folder = db.session.scalar(visible_folders(actor, console=console).where(KBFolder.id == folder_id))
    if folder is None:
        raise NotFound()
    return folder


def get_article(actor, article_id, *, console=False) -> KBArticle:
    article = db.session.scalar(visible_articles(actor, console=console).where(KBArticle.id == article_id)
                                .options(selectinload(KBArticle.translations)))
    if article is None:
        raise NotFound()
    return article


def folder_tree(actor, *, console=False):
    """Top-level folders ``actor`` may see, in order, each with its visible children: [(folder, [child, ...])]."""
    folders = db.session.scalars(visible_folders(actor, console=console).order_by(KBFolder.position, KBFolder.id)
                                 .options(selectinload(KBFolder.translations))).all()
    children = {}
    for folder in folders:
        if folder.parent_id is not None:
            children.setdefault(folder.parent_id, []).append(folder)
    return [(folder, children.get(folder.id, [])) for folder in folders if folder.parent_id is None]


def articles_in(actor, folder_ids, *, console=False):
    """Visible articles of these folders, in their order, as {folder_id: [article, ...]}."""
    articles = db.session.scalars(
        visible_articles(actor, console=console).where(KBArticle.folder_id.in_(list(folder_ids)))
        .order_by(KBArticle.position, KBArticle.id).options(selectinload(KBArticle.translations))
    ).all()
    grouped = {}
    for article in articles:
        grouped.setdefault(article.folder_id, []).append(article)
    return grouped


def articles_about(actor, product: str, *, limit: int = 200):
    """Readable articles whose product (a device type's code) is ``product``, newest first."""
    return db.session.scalars(
        visible_articles(actor).where(KBArticle.product == product)
        .order_by(KBArticle.updated_at.desc(), KBArticle.id.desc()).limit(limit)
        .options(selectinload(KBArticle.translations))).all()
