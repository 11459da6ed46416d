"""Knowledge base search: what an article's index documents hold, and the only functions that write or
search them: ``index_articles``, ``rebuild`` and ``search_articles``, on the configured backend.

One document per article and language, analysed in that language (stemming for en, de, tr, hu; folded
Persian). A reader searches their language, and the default language for articles that have no text in
theirs, as they would read them. Writes come from the ``search`` queue (one worker) or in-process jobs."""
from dataclasses import dataclass, field
from datetime import UTC

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, selectinload

from helpdesk.db import in_batches
from helpdesk.extensions import db
from helpdesk.kb import access
from helpdesk.kb.models import PUBLISHED, KBArticle
from helpdesk.search import backend
from helpdesk.search.backend import DATE, KEY, MULTI, TAG, TEXT, AllOf, AnyOf, Collection, Field, Is, Not
from helpdesk.search.folding import LANGUAGES

REBUILD_BATCH = 500
# Queries of at most this many words also match words one typo away (4 letters or more).
FUZZY_MAX_WORDS = 3
_NONE = "none"

# One text field per language (title, tags, product and body together): a word is then one posting list
# to read, which keeps searches fast; the title is given twice so its words weigh more.
ARTICLES = Collection("articles", {
    "id": Field(KEY),  # "<article id>:<language>"
    "article": Field(TAG, stored=True),
    "language": Field(TAG, stored=True),
    "languages": Field(MULTI),  # every language the article is written in
    "visibility": Field(TAG),
    "parent_visibility": Field(TAG),  # the parent folder's, "none" at the top level
    "status": Field(TAG),
    "updated": Field(DATE),
    # One document has one language's text, so they share a weight class.
    **{f"text_{language}": Field(TEXT, analyser=language, weight="A") for language in LANGUAGES},
})


@dataclass
class ArticleHit:
    """One article found: the row, the language shown, and highlighted snippets (HTML, escaped)."""

    article: KBArticle
    language: str
    title: str
    highlights: dict = field(default_factory=dict)


def index_path() -> str:
    """Where the backend keeps the knowledge base index (for operators)."""
    return backend.get_backend().status(ARTICLES)["location"]


def status() -> dict:
    """The backend's account of the knowledge base index (documents, location, whether a rebuild is due)."""
    return backend.get_backend().status(ARTICLES)


def _field_language(language):
    return language if language in LANGUAGES else "en"


def _naive_utc(moment):
    return moment.astimezone(UTC).replace(tzinfo=None) if moment and moment.tzinfo else moment


def documents(article):
    """The index documents of ``article``, one per language it is written in."""
    folder = article.folder
    parent = folder.parent
    languages = " ".join(t.language for t in article.translations)
    for translation in article.translations:
        language = _field_language(translation.language)
        yield {
            "id": f"{article.id}:{translation.language}",
            "article": str(article.id),
            "language": translation.language,
            "languages": languages,
            "visibility": folder.visibility,
            "parent_visibility": parent.visibility if parent else _NONE,
            "status": article.status,
            "updated": _naive_utc(article.updated_at),
            f"text_{language}": "\n".join([translation.title, translation.title, " ".join(article.tag_list),
                                            article.product or "", translation.body_text]),
        }


def _load(article_ids, session=None):
    return (session or db.session).scalars(
        sa.select(KBArticle).where(KBArticle.id.in_(article_ids))
        .options(selectinload(KBArticle.translations), selectinload(KBArticle.folder))
    ).all()


def index_articles(article_ids):
    """Put these articles' current state into the index in one write (gone ones, and languages an article
    no longer has, are taken out)."""
    ids = list(dict.fromkeys(int(i) for i in article_ids))
    if not ids:
        return
    written = [d for article in _load(ids) for d in documents(article)]
    backend.get_backend().put(ARTICLES, written, delete=ids, by="article")


def _all_documents(batch_size, counted):
    for session, ids in in_batches(db.engine, KBArticle, batch_size):
        for article in _load(ids, session):
            counted.append(article.id)
            yield from documents(article)


def rebuild(batch_size=REBUILD_BATCH) -> int:
    """Index every article again and replace the whole index at once. Returns the article count."""
    counted = []
    backend.get_backend().rebuild(ARTICLES, _all_documents(batch_size, counted))
    return len(counted)


def _audience_filter(actor, console):
    """The folders and states ``actor`` reads, from ``kb.access`` (the rule the pages use)."""
    allowed = access.audience(actor, console=console)
    parts = [Is("visibility", *allowed), Is("parent_visibility", *allowed, _NONE)]
    if not access.sees_drafts(actor, console=console):
        parts.append(Is("status", PUBLISHED))
    return AllOf(*parts)


def _language_filter(language, fallback):
    if language == fallback:
        return Is("language", language)
    # The reader's language, or the default one for articles not written in theirs.
    return AnyOf(Is("language", language), AllOf(Is("language", fallback), Not(Is("languages", language))))


def _visible(actor, console, article_ids):
    return {a.id: a for a in db.session.scalars(
        access.visible_articles(actor, console=console).where(KBArticle.id.in_(article_ids))
        .join(KBArticle.translations).options(contains_eager(KBArticle.translations))).unique()}


def _highlights(search, translation, terms):
    name = f"text_{_field_language(translation.language)}"
    marked = {kind: search.highlight(ARTICLES, name, value, terms.get(name))
              for kind, value in (("title", translation.title), ("body", translation.body_text))}
    return {kind: html for kind, html in marked.items() if html}


def search_articles(actor, text, *, language, fallback="en", console=False, limit=20, typing=False,
                    snippets=True) -> list[ArticleHit]:
    """Articles matching ``text`` that ``actor`` may read, best first, in the reader's ``language`` (or
    ``fallback`` where an article has none in it), with highlighted snippets unless ``snippets`` is
    false. ``typing``: the last word may be unfinished (suggestions while a subject is typed). The index
    narrows by ``kb.access``'s audience; the database then checks every hit against
    ``access.visible_articles``, so a stale index never shows what it should not."""
    text = (text or "").strip()
    if not text:
        return []
    search = backend.get_backend()
    reader_language, fallback_language = _field_language(language), _field_language(fallback)
    fields = tuple(dict.fromkeys([f"text_{reader_language}", f"text_{fallback_language}"]))
    found = search.search(ARTICLES, backend.SearchRequest(
        text, fields, AllOf(_audience_filter(actor, console), _language_filter(language, fallback)),
        limit=limit, typing=typing, fuzzy=len(text.split()) <= FUZZY_MAX_WORDS))
    ranked = [(int(d["article"]), d["language"]) for d in found.documents]
    visible = _visible(actor, console, [article_id for article_id, _ in ranked]) if ranked else {}
    hits, seen = [], set()
    for article_id, hit_language in ranked:
        article = visible.get(article_id)
        if article is None or article_id in seen:
            continue
        seen.add(article_id)
        translation = next((t for t in article.translations if t.language == hit_language), None)
        if translation is None:
            continue
        highlights = _highlights(search, translation, found.terms) if snippets else {}
        hits.append(ArticleHit(article=article, language=hit_language, title=translation.title,
                               highlights=highlights))
    return hits
