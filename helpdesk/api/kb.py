"""The knowledge base: folders and articles to read (what the portal shows a customer; what the console shows
staff), and for editors, articles to write, publish and unpublish as in the console's editor.

Drafts appear only to editors whose token has kb:write; a token without it reads as the portal does."""
from marshmallow import Schema, fields, validate

from helpdesk.api.core import (
    NOT_MODIFIED,
    PageArgs,
    actor,
    check_if_match,
    has_scope,
    keyset_page,
    new_blueprint,
    page_schema,
    problem_answers,
    scoped,
    with_etag,
)
from helpdesk.api.idempotency import idempotent
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.kb import access, service
from helpdesk.kb.models import BODY_FORMATS, MARKDOWN, PUBLISHED, KBArticle
from helpdesk.search import articles as kb_index

bp = new_blueprint("kb", __name__, _l("Knowledge base folders and articles; editors write them."))


def _console() -> bool:
    """Staff read the console's knowledge base (internal folders too); everyone else the portal's."""
    return bool(actor().is_agent)


def _readable():
    """The articles the token may read: its owner's, without drafts unless it may write."""
    query = access.visible_articles(actor(), console=_console())
    if not has_scope("kb:write"):
        query = query.where(KBArticle.status == PUBLISHED)
    return query


def _article(article_id) -> KBArticle:
    found = db.session.scalar(_readable().where(KBArticle.id == article_id))
    if found is None:
        raise NotFound()
    return found


def _language() -> str:
    return actor().locale or service.default_language()


# --------------------------------------------------------------------------- schemas

class FolderSchema(Schema):
    id = fields.Integer(required=True)
    parent_id = fields.Integer(allow_none=True, required=True)
    title = fields.Function(lambda folder: folder.title_in(_language()), required=True,
                            metadata={"type": "string"})
    description = fields.Function(lambda folder: folder.description_in(_language()), required=True,
                                  metadata={"type": "string"})
    visibility = fields.String(required=True, metadata={"enum": ["public", "customers", "internal"]})
    kind = fields.String(required=True, metadata={"enum": ["standard", "news"]})
    position = fields.Integer(required=True)


class FoldersSchema(Schema):
    items = fields.List(fields.Nested(FolderSchema), required=True)


class TranslationSchema(Schema):
    language = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    body_format = fields.String(required=True, metadata={"enum": list(BODY_FORMATS)})
    body_html = fields.Function(service.safe_html, required=True, metadata={"type": "string"})
    updated_at = fields.DateTime(required=True)


def _title(article):
    text = article.translation(_language(), service.default_language())
    return text.title if text else ""


class ArticleSummarySchema(Schema):
    id = fields.Integer(required=True)
    folder_id = fields.Integer(required=True)
    title = fields.Function(_title, required=True, metadata={"type": "string",
                                                             "description": "In the reader's language if written"})
    status = fields.String(required=True, metadata={"enum": ["draft", "published"]})
    tags = fields.List(fields.String(), attribute="tag_list", required=True)
    product = fields.String(required=True)
    languages = fields.List(fields.String(), required=True)
    updated_at = fields.DateTime(required=True)
    published_at = fields.DateTime(allow_none=True, required=True)


class ArticleSchema(ArticleSummarySchema):
    created_at = fields.DateTime(required=True)
    video_url = fields.String(allow_none=True, required=True)
    translations = fields.List(fields.Nested(TranslationSchema), required=True)


class ArticleQuery(PageArgs):
    folder = fields.Integer(metadata={"description": "Only this folder's articles"})
    q = fields.String(metadata={"description": "Search words (the knowledge base's search, best first: one page)"})


class NewArticleSchema(Schema):
    folder = fields.Integer(required=True, metadata={"description": "The folder's id"})
    language = fields.String(load_default=None)
    title = fields.String(required=True)
    body = fields.String(required=True)
    body_format = fields.String(load_default=MARKDOWN, validate=validate.OneOf(list(BODY_FORMATS)))
    tags = fields.List(fields.String(), load_default=list)
    product = fields.String(load_default="")
    video_url = fields.String(load_default="")
    publish = fields.Boolean(load_default=False)


class ArticleChangeSchema(Schema):
    language = fields.String(metadata={"description": "The text's language (the desk's default if left out); "
                                                      "a new language adds a translation"})
    title = fields.String()
    body = fields.String()
    body_format = fields.String(validate=validate.OneOf(list(BODY_FORMATS)))
    folder = fields.Integer()
    tags = fields.List(fields.String())
    product = fields.String()
    video_url = fields.String(allow_none=True)


def _folder(folder_id):
    """The folder an editor names, or None (the service then names the field)."""
    try:
        return access.get_folder(actor(), folder_id, console=True)
    except NotFound:
        return None


def _dump(article):
    return with_etag(ArticleSchema().dump(article))


# --------------------------------------------------------------------------- reading

@bp.route("/kb/folders")
@bp.response(200, FoldersSchema)
@scoped("kb:read")
def list_folders():
    """The folders the token's owner may open, in their order, each top-level folder before its children."""
    tree = access.folder_tree(actor(), console=_console())
    return {"items": [folder for parent, children in tree for folder in (parent, *children)]}


@bp.route("/kb/articles")
@bp.arguments(ArticleQuery, location="query")
@bp.response(200, page_schema(ArticleSummarySchema, "ArticlePage"))
@scoped("kb:read")
def list_articles(args):
    """Articles, most recently created first (``folder`` narrows to one folder); with ``q``, the search's best
    matches, up to ``limit``, as one page."""
    if args.get("q", "").strip():
        hits = kb_index.search_articles(actor(), args["q"], language=_language(),
                                        fallback=service.default_language(), console=_console(),
                                        limit=args["limit"], snippets=False)
        found = [hit.article for hit in hits
                 if (has_scope("kb:write") or hit.article.is_published)
                 and args.get("folder") in (None, hit.article.folder_id)]
        return {"items": found, "next_cursor": None, "prev_cursor": None}
    query = _readable()
    if args.get("folder") is not None:
        query = query.where(KBArticle.folder_id == args["folder"])
    return keyset_page(query, KBArticle.id, after=args.get("after"), before=args.get("before"),
                       limit=args["limit"])


@bp.route("/kb/articles/<id:article_id>")
@bp.response(200, ArticleSchema)
@bp.doc(responses=NOT_MODIFIED)
@scoped("kb:read")
def read_article(article_id):
    """One article with every translation, and its ETag."""
    return _dump(_article(article_id))


# --------------------------------------------------------------------------- writing (editors)

@bp.route("/kb/articles", methods=["POST"])
@idempotent
@bp.arguments(NewArticleSchema)
@bp.response(201, ArticleSchema)
@bp.doc(responses=problem_answers(409))
@scoped("kb:write")
def create_article(data):
    """Write a new article (editors): a draft unless ``publish``; its first revision is kept."""
    created = service.create_article(
        actor(), folder=_folder(data["folder"]), language=data["language"] or service.default_language(),
        title=data["title"], body=data["body"], body_format=data["body_format"], tags=data["tags"],
        product=data["product"], video_url=data["video_url"], publish=data["publish"])
    return with_etag(ArticleSchema().dump(created), 201)


@bp.route("/kb/articles/<id:article_id>", methods=["PATCH"])
@bp.arguments(ArticleChangeSchema)
@bp.response(200, ArticleSchema)
@bp.doc(responses=problem_answers(412))
@scoped("kb:write")
def change_article(data, article_id):
    """Edit an article (editors): its text in ``language`` and any other field given; every edit keeps a
    revision. Send If-Match with the ETag you read: a stale one gets 412."""
    article = _article(article_id)
    check_if_match(ArticleSchema().dump(article))
    language = data.get("language") or service.default_language()
    text = next((t for t in article.translations if t.language == language), None)
    changes = {name: data[name] for name in ("tags", "product") if name in data}
    if "folder" in data:
        changes["folder"] = _folder(data["folder"])
    if "video_url" in data:
        changes["video_url"] = data["video_url"] or ""
    service.update_article(
        actor(), article, language=language, title=data.get("title", text.title if text else ""),
        body=data.get("body", text.body if text else ""),
        body_format=data.get("body_format", text.body_format if text else MARKDOWN), **changes)
    return _dump(article)


@bp.route("/kb/articles/<id:article_id>/publish", methods=["POST"])
@bp.response(200, ArticleSchema)
@bp.doc(responses=problem_answers(412))
@scoped("kb:write")
def publish_article(article_id):
    """Publish the article for its folder's readers (editors; If-Match honoured)."""
    article = _article(article_id)
    check_if_match(ArticleSchema().dump(article))
    return _dump(service.publish(actor(), article))


@bp.route("/kb/articles/<id:article_id>/unpublish", methods=["POST"])
@bp.response(200, ArticleSchema)
@bp.doc(responses=problem_answers(412))
@scoped("kb:write")
def unpublish_article(article_id):
    """Take the article back to a draft that only editors see (editors; If-Match honoured)."""
    article = _article(article_id)
    check_if_match(ArticleSchema().dump(article))
    return _dump(service.unpublish(actor(), article))
