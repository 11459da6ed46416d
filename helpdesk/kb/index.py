"""The knowledge base's search index (Whoosh at KB_INDEX_PATH, apart from the ticket index) and the only
functions that touch it: ``index_articles``, ``rebuild`` and ``search_articles``.

One document per article and language, with that language's analyser (stemming for en, de, tr, hu;
normalised Persian). A reader searches their language, and the default language for articles that
have no text in theirs, as they would read them. Writes come from the ``search`` queue (one worker)
or in-process jobs, one writer at a time."""
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC
from itertools import islice

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager, selectinload
from whoosh import highlight, index, qparser, query, writing
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema

from helpdesk.db import in_batches
from helpdesk.extensions import db
from helpdesk.kb import access
from helpdesk.kb.analysis import FOLDING, LANGUAGES, analyser
from helpdesk.kb.models import PUBLISHED, KBArticle

REBUILD_BATCH = 500
REBUILD_MEMORY_MB = 512  # postings a rebuild sorts in memory before it spills them to disk
WRITER_TIMEOUT = 60.0  # seconds a writer waits for another one (a rebuild, another process) to finish
# Queries of at most this many words also match words one typo away (4 letters or more).
FUZZY_MAX_WORDS = 3
FUZZY_MIN_LETTERS = 4


def _schema():
    fields = {
        "id": ID(stored=True, unique=True),  # "<article id>:<language>"
        "article": ID(stored=True),
        "language": ID(stored=True),
        "languages": KEYWORD,  # every language the article is written in
        "visibility": ID,
        "parent_visibility": ID,  # the parent folder's, "none" at the top level
        "status": ID,
        "updated": DATETIME,
    }
    # One text field per language (title, tags, product and body together): a word is then one posting
    # list to read, which keeps searches fast; the title is given twice so its words weigh more.
    for language in LANGUAGES:
        fields[f"text_{language}"] = TEXT(analyzer=analyser(language))
    return Schema(**fields)


SCHEMA = _schema()
_NONE = "none"
_COMPLETIONS, _COMPLETIONS_SCANNED = 20, 500  # completions of a word being typed: used, looked at
_WINDOW = 120  # characters either side of a match that a snippet is taken from
_FRAGMENTER = highlight.ContextFragmenter(maxchars=200, surround=40)
_FORMATTER = highlight.HtmlFormatter(tagname="mark")
_write_lock = threading.Lock()
_readers = threading.local()


@dataclass
class ArticleHit:
    """One article found: the row, the language shown, and highlighted snippets (HTML, escaped)."""

    article: KBArticle
    language: str
    title: str
    highlights: dict = field(default_factory=dict)


def index_path():
    configured = current_app.config.get("KB_INDEX_PATH")
    return configured or os.path.join(current_app.config["INSTANCE_PATH"], "kb-index")


def _open():
    path = index_path()
    if not index.exists_in(path):
        os.makedirs(path, exist_ok=True)
        return index.create_in(path, SCHEMA)
    return index.open_dir(path)


def _naive_utc(moment):
    return moment.astimezone(UTC).replace(tzinfo=None) if moment and moment.tzinfo else moment


def _field_language(language):
    return language if language in LANGUAGES else "en"


def _documents(article):
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


def _write(change, writer_options=None, **commit_options):
    with _write_lock:
        writer = _open().writer(timeout=WRITER_TIMEOUT, **(writer_options or {}))
        try:
            change(writer)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(**commit_options)


def index_articles(article_ids):
    """Put these articles' current state into the index with one writer (gone ones, and languages an
    article no longer has, are taken out)."""
    ids = list(dict.fromkeys(int(i) for i in article_ids))
    if not ids:
        return
    documents = [d for article in _load(ids) for d in _documents(article)]

    def change(writer):
        for article_id in ids:
            writer.delete_by_term("article", str(article_id))
        for document in documents:
            writer.add_document(**document)

    _write(change)


def rebuild(batch_size=REBUILD_BATCH) -> int:
    """Index every article again and replace the whole index in one commit. Returns the article count."""
    count = 0

    def fill(writer):
        nonlocal count
        for session, ids in in_batches(db.engine, KBArticle, batch_size):
            for article in _load(ids, session):
                for document in _documents(article):
                    writer.add_document(**document)
                count += 1

    _write(fill, writer_options={"limitmb": REBUILD_MEMORY_MB}, mergetype=writing.CLEAR)
    return count


def _searcher():
    """A searcher of the newest index, kept per thread between searches (opening one costs more than
    a search); None while there is no index."""
    path = index_path()
    cache = _readers.__dict__.setdefault("searchers", {})
    searcher = cache.get(path)
    if searcher is None:
        if not index.exists_in(path):
            return None
        searcher = index.open_dir(path).searcher()
    else:
        searcher = searcher.refresh()  # the same one while the index is unchanged
    cache[path] = searcher
    return searcher


def _fields(language, fallback):
    return [f"text_{language}"] if fallback == language else [f"text_{language}", f"text_{fallback}"]


def _fuzzy(words, fields):
    """Each word, or a word one edit away from it, in any of ``fields`` (typos in short queries)."""
    per_word = []
    for word in words:
        options = []
        for name in fields:
            for token in SCHEMA[name].process_text(word, mode="query"):
                if len(token) >= FUZZY_MIN_LETTERS:
                    options.append(query.FuzzyTerm(name, token, boost=0.5, maxdist=1, prefixlength=1))
                else:
                    options.append(query.Term(name, token))
        if options:
            per_word.append(query.Or(options))
    return query.And(per_word) if per_word else None


def _audience_filter(actor, console):
    allowed = access.audience(actor, console=console)
    visibility = query.Or([query.Term("visibility", v) for v in allowed])
    parent = query.Or([query.Term("parent_visibility", v) for v in (*allowed, _NONE)])
    parts = [visibility, parent]
    if not access.sees_drafts(actor, console=console):
        parts.append(query.Term("status", PUBLISHED))
    return parts


def _language_filter(language, fallback):
    if language == fallback:
        return query.Term("language", language)
    # The reader's language, or the default one for articles not written in theirs.
    return query.Or([query.Term("language", language),
                     query.And([query.Term("language", fallback), query.Not(query.Term("languages", language))])])


def _typing(reader, words, fields):
    """For text still being typed: the earlier words as they are, the last one as the start of a word
    (its most frequent completions only: a short beginning can stand for thousands of words)."""
    last = set()
    for name in fields:
        tokens = list(SCHEMA[name].process_text(words[-1], mode="query"))
        # The stemmer may cut a partial word differently, so its plain lowercased letters count too.
        plain = words[-1].lower()
        for prefix in dict.fromkeys([*tokens, plain]):
            completions = list(islice(reader.expand_prefix(name, prefix), _COMPLETIONS_SCANNED))
            completions.sort(key=lambda term: reader.doc_frequency(name, term), reverse=True)
            last.update((name, term) for term in completions[:_COMPLETIONS])
    earlier = [query.Or([query.Term(name, token) for name in fields
                         for token in SCHEMA[name].process_text(word, mode="query")]) for word in words[:-1]]
    if not last:
        return query.NullQuery
    return query.And([*earlier, query.Or([query.Term(name, term) for name, term in sorted(last)])])


def _filter(searcher, actor, console, language, fallback):
    """The documents this reader may find, as a set of document numbers kept with the searcher (the same
    few audiences ask again and again; a new searcher, after any index change, starts afresh)."""
    key = (access.audience(actor, console=console), access.sees_drafts(actor, console=console), language, fallback)
    cache = _readers.__dict__.setdefault("filters", {})
    if cache.get("searcher") is not searcher:
        cache.clear()
        cache["searcher"] = searcher
    if key not in cache:
        wanted = query.And([*_audience_filter(actor, console), _language_filter(language, fallback)])
        cache[key] = set(searcher.docs_for_query(wanted))
    return cache[key]


def _queries(reader, text, fields, typing):
    """The queries to try in turn until one finds something: the words as typed; then, while typing, the
    last word as a beginning; then, for short queries, words one typo away."""
    parsed = qparser.MultifieldParser(fields, SCHEMA, group=qparser.AndGroup).parse(text)
    words = text.split()
    if parsed is not query.NullQuery:
        yield parsed
    if typing and words:
        completing = _typing(reader, words, fields)
        if completing is not query.NullQuery:
            yield completing
    if 0 < len(words) <= FUZZY_MAX_WORDS:
        fuzzy = _fuzzy(words, fields)
        if fuzzy is not None:
            yield fuzzy


def _snippet(wanted, name, value):
    """Highlighted fragments of ``value`` for the index terms ``wanted`` of field ``name``. Only windows
    around places where a term's letters occur are analysed (a stem is the start of the words it comes
    from), so a long article costs little more than a short one."""
    if not value or not wanted:
        return ""
    pattern = re.compile("|".join(re.escape(term) for term in sorted(wanted, key=len, reverse=True)))
    lowered = value.lower()
    places = [m.start() for m in islice(pattern.finditer(lowered), 2)]
    if not places:  # the text has the word only with accents or letter variants the index folds away
        places = [m.start() for m in islice(pattern.finditer(lowered.translate(FOLDING)), 2)]
    windows = []
    for at in places:
        begin, end = max(0, at - _WINDOW), at + _WINDOW
        if windows and begin <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((begin, end))
    if not windows:
        return ""
    text = " … ".join(value[begin:end] for begin, end in windows)
    return highlight.highlight(text, wanted, SCHEMA[name].analyzer, _FRAGMENTER, _FORMATTER, top=2)


def _field_terms(terms):
    by_field = {}
    for name, text in terms:
        by_field.setdefault(name, set()).add(text.decode() if isinstance(text, bytes) else text)
    return {name: frozenset(texts) for name, texts in by_field.items()}


def search_articles(actor, text, *, language, fallback="en", console=False, limit=20, typing=False,
                    snippets=True) -> list[ArticleHit]:
    """Articles matching ``text`` that ``actor`` may read, best first, in the reader's ``language`` (or
    ``fallback`` where an article has none in it), with highlighted snippets unless ``snippets`` is
    false. ``typing``: the last word may be unfinished (suggestions while a subject is typed). Whoosh
    narrows by visibility; the database then checks every hit, so a stale index never shows what it
    should not."""
    text = (text or "").strip()
    searcher = _searcher() if text else None
    if searcher is None:
        return []
    fields = _fields(_field_language(language), _field_language(fallback))
    allowed = _filter(searcher, actor, console, language, fallback)
    results, used = None, None
    for candidate in _queries(searcher.reader(), text, fields, typing):
        results, used = searcher.search(candidate, filter=allowed, limit=limit), candidate
        if results.scored_length():
            break
    if results is None or not results.scored_length():
        return []
    found = [(int(hit["article"]), hit["language"]) for hit in results]
    visible = {a.id: a for a in db.session.scalars(
        access.visible_articles(actor, console=console).where(KBArticle.id.in_([f[0] for f in found]))
        .join(KBArticle.translations).options(contains_eager(KBArticle.translations))).unique()}
    terms = _field_terms(used.existing_terms(searcher.reader(), expand=True)) if snippets else {}
    hits, seen = [], set()
    for article_id, hit_language in found:
        article = visible.get(article_id)
        if article is None or article_id in seen:
            continue
        seen.add(article_id)
        translation = next((t for t in article.translations if t.language == hit_language), None)
        if translation is None:
            continue
        field_language = _field_language(hit_language)
        highlights = {}
        if snippets:
            for kind, value in (("title", translation.title), ("body", translation.body_text)):
                name = f"text_{field_language}"
                snippet = _snippet(terms.get(name), name, value)
                if snippet:
                    highlights[kind] = snippet
        hits.append(ArticleHit(article=article, language=hit_language, title=translation.title,
                               highlights=highlights))
    return hits
