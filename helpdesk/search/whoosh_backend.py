"""The Whoosh search backend (SEARCH_BACKEND = "whoosh"): the only module that imports whoosh. One index
folder per collection on this machine's disk (tickets at SEARCH_INDEX_PATH, knowledge base articles at
KB_INDEX_PATH), written by one writer at a time: the ``search`` queue's one worker, or in-process jobs.

For speed at a million tickets it reads posting lists into sets of document numbers (kept per segment:
segments never change, and their deletions only grow), intersects them with the filter's set (kept per
searcher), ranks only the most recently active matches when there are very many, and keeps a second
index of the recently active documents (the recent tier) for words in a third of all tickets. Whoosh's
public API is used, but for one seam of its writer (``_LengthsReader``: a cache Whoosh lacks)."""
import bisect
import os
import re
import threading
import time
from array import array
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from itertools import islice
from pathlib import Path

import snowballstemmer
from whoosh import highlight, index, matching, qparser, query, writing
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.lang import has_stemmer, has_stopwords
from whoosh.reading import TermNotFound

from helpdesk.search import backend, folding

WRITER_TIMEOUT = 60.0  # seconds a writer waits for another one (a rebuild, another process) to finish
REBUILD_MEMORY_MB = 256  # postings a rebuild sorts in memory before it spills them to disk
# Bumped when the analysers or the folding change: an index written before is read as it is, and
# ``status`` asks for a rebuild so old documents are analysed the new way too.
ANALYSIS_VERSION = "2"
_ANALYSIS_MARK = "HELPDESK_ANALYSIS"
_COMPLETE = "COMPLETE"  # in the recent tier's folder once a rebuild filled it (not just later writes)
_SNOWBALL_NAMES = {"tr": "turkish"}
_COMPLETIONS, _COMPLETIONS_SCANNED = 20, 500  # completions of a word being typed: used, looked at
_FUZZY_MIN_LETTERS = 4  # shorter words must match exactly
_SNIPPET_WINDOW = 120  # characters either side of a match that a highlighted fragment is taken from


# --------------------------------------------------------------------------- analysers
# Whoosh pickles the schema into the index, so every filter here is a module-level class.

class TurkishLowercaseFilter(Filter):
    """Lowercase with Turkish rules (see folding.lower)."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = folding.lower(token.text, "tr")
            yield token


@cache
def _snowball(language):
    return snowballstemmer.stemmer(_SNOWBALL_NAMES[language])


@lru_cache(maxsize=50_000)
def _stem(language, word):
    return _snowball(language).stemWord(word)


class SnowballStemFilter(Filter):
    """Stems with the snowballstemmer package, for languages Whoosh has no stemmer for (Turkish)."""

    def __init__(self, language):
        self.language = language

    def __eq__(self, other):
        return type(other) is type(self) and other.language == self.language

    def __call__(self, tokens):
        for token in tokens:
            if not token.stopped:
                token.text = _stem(self.language, token.text)
            yield token


# Participants: an email address is one token, names are words.
_PEOPLE = r"[^\s,;<>()\"']+@[^\s,;<>()\"']+|" + folding.WORDS


def analyser(name):
    """Words lowercased and folded (``folding``); for a language of ours also stop words out and stemmed
    (Whoosh's Snowball ports for en, de, hu; snowballstemmer for tr; Persian has none), the fold last so
    stemmers see the accents. ``neutral``: no stemming (tickets: any language); ``people``: addresses too."""
    fold = CharsetFilter(folding.FOLDING)
    if name == "people":
        return RegexTokenizer(_PEOPLE) | LowercaseFilter() | fold
    tokenizer = RegexTokenizer(folding.WORDS)
    if name not in folding.LANGUAGES or name == "fa":
        return tokenizer | LowercaseFilter() | fold
    chain = tokenizer | (TurkishLowercaseFilter() if name == "tr" else LowercaseFilter())
    if has_stopwords(name):
        chain = chain | StopFilter(lang=name)
    if has_stemmer(name):
        chain = chain | StemFilter(lang=name, cachesize=50_000)
    elif name in _SNOWBALL_NAMES:
        chain = chain | SnowballStemFilter(name)
    return chain | fold


def terms(analyser_name, text):
    """The index terms ``text`` becomes with analyser ``analyser_name``."""
    return [token.text for token in analyser(analyser_name)(text)]


def _whoosh_field(spec):
    if spec.kind == backend.KEY:
        return ID(stored=True, unique=True)
    if spec.kind == backend.TEXT:
        return TEXT(analyzer=analyser(spec.analyser), field_boost=spec.boost)
    return {
        backend.STORED: lambda: STORED(),
        backend.TAG: lambda: ID(stored=spec.stored),
        backend.MULTI: lambda: KEYWORD(),
        backend.DATE: lambda: DATETIME(),
        backend.NUMBER: lambda: NUMERIC(int, bits=64, stored=True),
    }[spec.kind]()


@cache
def schema_of(collection) -> Schema:
    return Schema(**{name: _whoosh_field(spec) for name, spec in collection.fields.items()})


# --------------------------------------------------------------------------- filters as queries

def compile_filter(where):
    """The Whoosh query for a backend.Filter."""
    if isinstance(where, backend.Is):
        terms_ = [query.Term(where.field, value) for value in where.values]
        return terms_[0] if len(terms_) == 1 else query.Or(terms_)
    if isinstance(where, backend.Between):
        return query.DateRange(where.field, _naive_utc(where.low), _naive_utc(where.high))
    if isinstance(where, backend.AllOf):
        return query.And([compile_filter(part) for part in where.parts])
    if isinstance(where, backend.AnyOf):
        return query.Or([compile_filter(part) for part in where.parts])
    if isinstance(where, backend.Not):
        return query.Not(compile_filter(where.part))
    if isinstance(where, backend.Nothing):
        return query.NullQuery
    raise TypeError(f"not a search filter: {where!r}")


def _naive_utc(moment):
    # Whoosh compares naive datetimes; ours are aware UTC.
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- document sets

# Document numbers of a term in a segment, kept across searches: a segment never changes and its
# deletions only grow, so a list read once stays right once the segment's current deletions are taken
# out. Arrays of machine integers: small, and nothing for the garbage collector to walk.
_POSTINGS = OrderedDict()  # (segment id, field, term) -> array("i")
_POSTINGS_MAX = 4_000_000  # document numbers kept in all (16 MB)
_postings_kept = 0
_postings_lock = threading.Lock()


def _read_postings(reader, fieldname, text):
    """The numbers of the live documents with ``text`` in ``fieldname``, in one segment."""
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return array("i")
    ids = array("i")
    append, is_active, current, step = ids.append, matcher.is_active, matcher.id, matcher.next
    while is_active():
        append(current())
        step()
    return ids


def _segment_postings(reader, fieldname, text):
    global _postings_kept
    segment = reader.segment() if hasattr(reader, "segment") else None
    key = (segment.segment_id(), fieldname, text) if segment is not None else None
    with _postings_lock:
        ids = _POSTINGS.get(key) if key else None
        if ids is not None:
            _POSTINGS.move_to_end(key)
            return ids
    ids = _read_postings(reader, fieldname, text)
    if key is not None:
        with _postings_lock:
            if key not in _POSTINGS:
                _POSTINGS[key] = ids
                _postings_kept += len(ids)
                while _postings_kept > _POSTINGS_MAX and len(_POSTINGS) > 1:
                    _postings_kept -= len(_POSTINGS.popitem(last=False)[1])
    return ids


def _term_docs(searcher, fieldname, text) -> set:
    """The index-wide numbers of the live documents with ``text`` in ``fieldname``."""
    if fieldname not in searcher.schema:
        return set()
    docs = set()
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        ids = _segment_postings(reader, fieldname, text)
        if reader.has_deletions():  # deleted since the list was read
            deleted = reader.deleted_docs_set
            ids = [i for i in ids if i not in deleted]
        docs.update(map(offset.__add__, ids) if offset else ids)
    return docs


def docs_of(searcher, q) -> set:
    """The index-wide numbers of the documents matching ``q``: terms, ANDs and ORs (and ranges and
    prefixes, as the terms they stand for) read from the posting lists; other queries through Whoosh."""
    if q is query.NullQuery:
        return set()
    if isinstance(q, query.Term):
        return _term_docs(searcher, q.fieldname, q.text)
    if isinstance(q, query.And):
        parts = sorted((docs_of(searcher, child) for child in q.subqueries), key=len)
        return set.intersection(*parts) if parts else set()
    if isinstance(q, query.Or) and not q.minmatch:
        return set().union(*(docs_of(searcher, child) for child in q.subqueries))
    if isinstance(q, query.NumericRange):  # and DateRange: a few terms per resolution
        return docs_of(searcher, q.simplify(searcher.reader()))
    if isinstance(q, query.MultiTerm):  # Prefix, FuzzyTerm, ...: the terms they stand for
        return set().union(*(_term_docs(searcher, name, text.decode() if isinstance(text, bytes) else text)
                             for name, text in q.expanded_terms(searcher.reader())))
    return set(searcher.docs_for_query(q))


def _estimate(reader, q) -> float:
    """An upper bound, from the term dictionary alone, of the postings ``docs_of`` would read for ``q``."""
    if isinstance(q, query.Term):
        try:
            return reader.doc_frequency(q.fieldname, q.text)
        except TermNotFound:
            return 0
    if isinstance(q, query.And):
        return min((_estimate(reader, child) for child in q.subqueries), default=0)
    if isinstance(q, query.Or):
        return sum(_estimate(reader, child) for child in q.subqueries)
    if isinstance(q, query.Phrase):
        return min((_estimate(reader, query.Term(q.fieldname, word)) for word in q.words), default=0)
    if isinstance(q, (query.AndNot, query.AndMaybe, query.Require)):
        return _estimate(reader, q.a)
    return float("inf")


class DocumentNumbers(query.Query):
    """Matches exactly the given index-wide document numbers, with a score of 0: ANDed with a search,
    it has Whoosh score those documents only."""

    fieldname = None
    boost = 1.0

    def __init__(self, docnums):
        self.docnums = sorted(docnums)

    def __eq__(self, other):
        return isinstance(other, DocumentNumbers) and self.docnums == other.docnums

    def __hash__(self):
        return hash(tuple(self.docnums))

    def __repr__(self):
        return f"DocumentNumbers({len(self.docnums)} documents)"

    def is_leaf(self):
        return True

    def estimate_size(self, ixreader):
        return len(self.docnums)

    def estimate_min_size(self, ixreader):
        return len(self.docnums)

    def matcher(self, searcher, context=None):
        offset = next((o for s, o in searcher.get_parent().leaf_searchers() if s is searcher), 0)
        low = bisect.bisect_left(self.docnums, offset)
        high = bisect.bisect_left(self.docnums, offset + searcher.doc_count_all())
        local = [d - offset for d in self.docnums[low:high]]
        return matching.ListMatcher(local, all_weights=0.0) if local else matching.NullMatcher()


# How far back the newest matches are looked for, widening until there are enough of them.
_RECENT_SPANS = (timedelta(days=1), timedelta(days=7), timedelta(days=30), timedelta(days=91),
                 timedelta(days=365), timedelta(days=3 * 365))


def _recently_active(searcher, docs, window, fieldname):
    """About ``window`` of ``docs``, the most recently active first: those active in the last day, week,
    month, ... until there are enough (each span's documents are read once per searcher)."""
    now = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    chosen = set()
    for span in _RECENT_SPANS:
        key = ("active since", fieldname, now - span)
        recent = searcher.helpdesk_sets.get(key)
        if recent is None:
            recent = searcher.helpdesk_sets[key] = frozenset(
                docs_of(searcher, query.DateRange(fieldname, now - span, None)))
        found = docs & recent
        if len(found) >= window:
            # Enough in this span: all of the previous (newer) span, the rest of this one up to the window.
            rest = sorted(found - chosen, reverse=True)
            return chosen | set(rest[:window - len(chosen)])
        chosen = found
    rest = sorted(docs - chosen, reverse=True)
    return chosen | set(rest[:window - len(chosen)])


def _allowed(searcher, where):
    """The documents filter ``where`` allows (None: all), as a set computed once per searcher: the same few
    filters come again and again, and an agent's departments cover a third of a big index."""
    if where is None:
        return None
    cache_ = searcher.helpdesk_sets
    docs = cache_.get(where)
    if docs is None:
        if len(cache_) > 64:
            cache_.clear()
        docs = cache_[where] = frozenset(docs_of(searcher, compile_filter(where)))
    return docs


def _matching(searcher, q, where):
    docs = docs_of(searcher, q)
    allowed = _allowed(searcher, where)
    return docs & allowed if allowed is not None else docs


# --------------------------------------------------------------------------- queries

def _typing(reader, schema, words, fields):
    """For text still being typed: the earlier words as they are, the last one as the start of a word
    (its most frequent completions only: a short beginning can stand for thousands of words)."""
    last = set()
    for name in fields:
        tokens = list(schema[name].process_text(words[-1], mode="query"))
        # A stemmer may cut a partial word differently, so its plain folded letters count too.
        for prefix in dict.fromkeys([*tokens, folding.fold(words[-1])]):
            completions = list(islice(reader.expand_prefix(name, prefix), _COMPLETIONS_SCANNED))
            completions.sort(key=lambda term, name=name: reader.doc_frequency(name, term), reverse=True)
            last.update((name, term) for term in completions[:_COMPLETIONS])
    if not last:
        return None
    earlier = [query.Or([query.Term(name, token) for name in fields
                         for token in schema[name].process_text(word, mode="query")]) for word in words[:-1]]
    return query.And([*earlier, query.Or([query.Term(name, term) for name, term in sorted(last)])])


def _fuzzy(schema, words, fields):
    """Each word, or a word one edit away from it, in any of ``fields`` (typos in short queries)."""
    per_word = []
    for word in words:
        options = []
        for name in fields:
            for token in schema[name].process_text(word, mode="query"):
                if len(token) >= _FUZZY_MIN_LETTERS:
                    options.append(query.FuzzyTerm(name, token, boost=0.5, maxdist=1, prefixlength=1))
                else:
                    options.append(query.Term(name, token))
        if options:
            per_word.append(query.Or(options))
    return query.And(per_word) if per_word else None


def _candidates(searcher, request):
    """The queries to try in turn until one finds something: the words as typed; then, while typing, the
    last word as a beginning; then, if asked, words one typo away."""
    schema = searcher.schema
    parsed = qparser.MultifieldParser(list(request.fields), schema, group=qparser.AndGroup).parse(request.text)
    if parsed is not query.NullQuery:
        yield parsed
    words = request.text.split()
    if request.typing and words:
        completing = _typing(searcher.reader(), schema, words, request.fields)
        if completing is not None:
            yield completing
    if request.fuzzy and words:
        fuzzy = _fuzzy(schema, words, request.fields)
        if fuzzy is not None:
            yield fuzzy


def _terms_by_field(searcher, q):
    """The terms of ``q`` (prefixes and typos expanded) that the index has, per field. (Query.existing_terms
    would do, but in whoosh-reloaded 2.7 it looks at the first field's terms only.)"""
    reader, by_field = searcher.reader(), {}
    for leaf in q.leaves():
        expanded = leaf.expanded_terms(reader) if isinstance(leaf, query.MultiTerm) else leaf.terms()
        for name, text in expanded:
            text = text.decode() if isinstance(text, bytes) else text
            if isinstance(text, str) and name in searcher.schema and (name, text) in reader:
                by_field.setdefault(name, set()).add(text)
    return {name: frozenset(texts) for name, texts in by_field.items()}


# --------------------------------------------------------------------------- the backend

_PATH_SETTINGS = {"tickets": "SEARCH_INDEX_PATH", "articles": "KB_INDEX_PATH"}
# Whoosh's lock stops writers in other processes; this one stops threads of this process from stepping on
# each other (in-process jobs of several requests at once).
_write_lock = threading.Lock()
_open_searchers = threading.local()
_PRUNED = {}  # recent tier path -> when its old documents were last taken out (per process)


class _LengthsReader(W3PerDocReader):
    """The new segment's field lengths as the writer reads them while it writes the postings: Whoosh asks
    whether a field has a lengths column once per posting, and for a field without one (nothing cached)
    that is a file-system lookup each time, a third of the commit. The segment is complete when this is
    read, so each answer is kept."""

    def has_column(self, fieldname):
        known = self.__dict__.setdefault("_columns", {})
        if fieldname not in known:
            known[fieldname] = super().has_column(fieldname)
        return known[fieldname]


def _lengths_reader(writer):
    """A replacement for ``writer.per_document_reader`` (an instance attribute: nothing of ours is pickled
    into the index's table of contents, unlike a codec of our own would be)."""

    def read():
        if not writer.perdocwriter.is_closed:
            raise RuntimeError("the per-document writer is still open")
        if type(writer.codec) is not W3Codec:
            return writer.codec.per_document_reader(writer.storage, writer.get_segment())
        return _LengthsReader(writer.storage, writer.get_segment())

    return read


class WhooshBackend(backend.SearchBackend):
    """Whoosh indexes on this machine's disk (see the module docstring)."""

    # ----------------------------------------------------------------- where and how the indexes live

    def path(self, collection) -> str:
        """The collection's index folder: its setting, else ``<name>-index`` in the instance folder."""
        configured = self.app.config.get(_PATH_SETTINGS.get(collection.name, ""))
        return configured or os.path.join(self.app.config["INSTANCE_PATH"], f"{collection.name}-index"
                                          if collection.name != "articles" else "kb-index")

    def recent_path(self, collection) -> str:
        """The recent tier: the same documents for those active in the last SEARCH_RECENT_DAYS, beside the
        full index; a word in a third of all tickets is searched there."""
        return os.path.normpath(self.path(collection)) + "-recent"

    def recent_days(self, collection) -> int:
        return int(self.app.config["SEARCH_RECENT_DAYS"] or 0) if collection.recent_field else 0

    def recent_cutoff(self, collection):
        return datetime.now(UTC).replace(tzinfo=None) - timedelta(days=self.recent_days(collection))

    def open(self, path, collection):
        """The index at ``path``, created empty the first time (or after someone deleted the folder). Read
        with the current schema: an index written by an older version keeps working until it is rebuilt."""
        if not index.exists_in(path):
            os.makedirs(path, exist_ok=True)
            created = index.create_in(path, schema_of(collection))
            Path(path, _ANALYSIS_MARK).write_text(ANALYSIS_VERSION)
            return created
        return index.open_dir(path, schema=schema_of(collection))

    def mark_recent_tier_complete(self, collection):
        """Record that the recent tier holds every recently active document (written by a rebuild): until
        then, e.g. right after an upgrade, searches do not rely on it."""
        Path(self.recent_path(collection), _COMPLETE).write_text(f"{self.recent_days(collection)}\n")

    def _recent_tier_ready(self, collection):
        marker = Path(self.recent_path(collection), _COMPLETE)
        return (marker.exists() and marker.read_text().strip() == str(self.recent_days(collection))
                and index.exists_in(self.recent_path(collection)))

    # ----------------------------------------------------------------- writing

    def _write(self, collection, change, recent_change=None, writer_options=None, **commit_options):
        """Apply ``change(writer)`` to the index and ``recent_change(writer)`` to the recent tier (when there
        is one), each in one commit."""
        with _write_lock:
            targets = [(self.path(collection), change)]
            if recent_change is not None and self.recent_days(collection):
                recent = self.recent_path(collection)
                if not index.exists_in(recent):
                    # Started along with an empty index (a new desk), the tier is complete from the start;
                    # beside an index that has documents (an upgrade) it waits for a rebuild.
                    full = self.path(collection)
                    fresh = not index.exists_in(full) or self.open(full, collection).doc_count_all() == 0
                    self.open(recent, collection)
                    if fresh:
                        self.mark_recent_tier_complete(collection)
                targets.append((recent, recent_change))
            for path, apply in targets:
                writer = self.open(path, collection).writer(timeout=WRITER_TIMEOUT, **(writer_options or {}))
                if type(writer) is writing.SegmentWriter:
                    writer.per_document_reader = _lengths_reader(writer)
                try:
                    apply(writer)
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit(**commit_options)

    def put(self, collection, documents, delete=(), by=None):
        documents = list(documents)
        by = by or collection.key
        delete = [str(value) for value in delete]

        def change(writer):
            for value in delete:
                writer.delete_by_term(by, value)
            for document in documents:
                writer.update_document(**document)

        def recent_change(writer):
            cutoff, recent_field = self.recent_cutoff(collection), collection.recent_field
            for value in delete:
                writer.delete_by_term(by, value)
            for document in documents:
                if document[recent_field] >= cutoff:
                    writer.update_document(**document)
                else:
                    writer.delete_by_term(collection.key, document[collection.key])
            path, now = self.recent_path(collection), time.monotonic()
            if now - _PRUNED.get(path, -3600) >= 3600:  # once an hour: those no longer recent go
                writer.delete_by_query(query.DateRange(recent_field, None, cutoff, endexcl=True))
                _PRUNED[path] = now

        self._write(collection, change, recent_change if collection.recent_field else None)

    def rebuild(self, collection, documents) -> int:
        count, recent = 0, []

        def fill(writer):
            nonlocal count
            cutoff, keep_recent = self.recent_cutoff(collection), bool(self.recent_days(collection))
            for document in documents:
                writer.add_document(**document)
                if keep_recent and document[collection.recent_field] >= cutoff:
                    recent.append(document)
                count += 1

        def fill_recent(writer):
            for document in recent:
                writer.add_document(**document)

        self._write(collection, fill, fill_recent if collection.recent_field else None,
                    writer_options={"limitmb": REBUILD_MEMORY_MB}, mergetype=writing.CLEAR)
        Path(self.path(collection), _ANALYSIS_MARK).write_text(ANALYSIS_VERSION)
        if self.recent_days(collection):
            self.mark_recent_tier_complete(collection)
        return count

    def status(self, collection) -> dict:
        path = self.path(collection)
        if not index.exists_in(path):
            return {"location": path, "documents": 0, "rebuild_needed": True}
        mark = Path(path, _ANALYSIS_MARK)
        current = mark.exists() and mark.read_text().strip() == ANALYSIS_VERSION
        return {"location": path, "documents": self.open(path, collection).doc_count(),
                "rebuild_needed": not current,
                "recent_tier_ready": self._recent_tier_ready(collection) if self.recent_days(collection) else None}

    # ----------------------------------------------------------------- searching

    def searcher(self, path, collection):
        """A searcher per index folder kept open per thread and opened afresh when the index changed (or was
        deleted and made again): opening a big index reads its segment files, which costs more than most
        searches. Opened afresh rather than refreshed: a refreshed reader reuses segments and can miss the
        deletions an update made in them."""
        kept = getattr(_open_searchers, "kept", None)
        if kept is None:
            kept = _open_searchers.kept = {}
        identity = os.stat(path).st_ino
        if path in kept:
            ix, searcher, opened_identity = kept[path]
            if opened_identity == identity and ix.latest_generation() == searcher.reader().generation():
                return searcher
            searcher.close()
            del kept[path]
        if len(kept) >= 8:  # index folders no longer used (another app in this process, tests)
            for _ix, old, _identity in kept.values():
                old.close()
            kept.clear()
        ix = index.open_dir(path, schema=schema_of(collection))
        searcher = ix.searcher()
        searcher.helpdesk_sets = {}  # document sets of filters and recency spans, valid as long as it is
        kept[path] = (ix, searcher, identity)
        return searcher

    def search(self, collection, request) -> backend.Found:
        path = self.path(collection)
        if not request.text.strip() or not index.exists_in(path):
            return backend.Found()
        searcher = self.searcher(path, collection)
        for candidate in _candidates(searcher, request):
            used, docs, found = self._matches(searcher, collection, candidate, request)
            if docs:
                break
        else:
            return backend.Found()
        if request.window and len(docs) > request.window and collection.recent_field:
            # Very many matches: rank the most recently active instead of scoring every one (seconds).
            docs = _recently_active(used, docs, request.window, collection.recent_field)
            found.ranked = len(docs)
        results = used.search(query.And([candidate, DocumentNumbers(docs)]), limit=request.limit)
        found.documents = [hit.fields() for hit in results]
        found.terms = _terms_by_field(used, candidate)
        return found

    def _matches(self, searcher, collection, q, request):
        """(the searcher used, the matching documents, a Found with the total) for query ``q``: words in more
        documents than ``request.recent_postings`` are looked for among the recently active first, if that
        finds a page of them."""
        if (request.recent_postings and self.recent_days(collection)
                and _estimate(searcher.reader(), q) > request.recent_postings and self._recent_tier_ready(collection)):
            recent = self.searcher(self.recent_path(collection), collection)
            docs = _matching(recent, q, request.filter)
            if len(docs) >= request.limit:
                return recent, docs, backend.Found(total=len(docs), recent_days=self.recent_days(collection))
        docs = _matching(searcher, q, request.filter)
        return searcher, docs, backend.Found(total=len(docs))

    def highlight(self, collection, field_name, text, wanted) -> str:
        """Up to two fragments of ``text`` around the terms ``wanted``, HTML-escaped, the words in <mark>.
        Only windows around places where a term's letters occur are analysed (a stem is the start of the
        words it comes from), so a long text costs little more than a short one."""
        if not text or not wanted:
            return ""
        pattern = "|".join(re.escape(term) for term in sorted(wanted, key=len, reverse=True))
        places = _places(pattern, text.lower()) or _places(pattern, folding.fold(text))
        windows = []
        for at in places:
            begin, end = max(0, at - _SNIPPET_WINDOW), at + _SNIPPET_WINDOW
            if windows and begin <= windows[-1][1]:
                windows[-1] = (windows[-1][0], end)
            else:
                windows.append((begin, end))
        if not windows:
            return ""
        excerpt = " … ".join(text[begin:end] for begin, end in windows)
        return highlight.highlight(excerpt, wanted, schema_of(collection)[field_name].analyzer, _FRAGMENTER,
                                   _FORMATTER, top=2)

    def terms(self, collection, field_name, text) -> list:
        return [token.text for token in schema_of(collection)[field_name].analyzer(text)]


_FRAGMENTER = highlight.ContextFragmenter(maxchars=200, surround=40)
_FORMATTER = highlight.HtmlFormatter(tagname="mark")


def _places(pattern, text):
    return [match.start() for match in islice(re.finditer(pattern, text), 2)]
