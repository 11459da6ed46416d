"""The PostgreSQL full-text search backend (SEARCH_BACKEND = "postgresql"): every collection's documents in the
``search_documents`` table (migration 0042), so any number of web and worker processes on any machine index and
search the same data, with no single-writer worker.

A document is one row: its exact values (TAG, MULTI, KEY) as ``field=value`` strings in ``tags`` (GIN), its
dates as fixed-width ISO strings in ``dates``, what a hit gives back in ``stored``, and its words in one
weighted ``tsvector`` (GIN): each TEXT field under its ``Field.weight`` class, so a search restricted to some
fields asks for their classes only (``'word':AC``) and ts_rank_cd weighs them. Text is folded with
``helpdesk.search.folding`` in Python first (Persian letters, digits, accents: as Whoosh folds), then
analysed by our text search configurations (unaccent + the Snowball stemmer of en, de, tr, hu; ``simple`` for
the rest). Differences from Whoosh: no recent tier (``recent_postings`` is ignored; when more than
``window`` documents match, the newest are read along an index on the recent field instead); SEARCH_COUNT_LIMIT
may bound ``Found.total`` (an exact count reads every matching row); ``fuzzy`` looks through the collection's
words only while it holds at most FUZZY_MAX_DOCUMENTS documents (the knowledge base, not a million tickets);
highlights are marked ``<mark>`` without Whoosh's classes."""
import json
import re
from datetime import UTC

import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.search import backend, folding

CONFIGURATIONS = {"en": "helpdesk_en", "de": "helpdesk_de", "tr": "helpdesk_tr", "hu": "helpdesk_hu"}
NEUTRAL = "helpdesk_simple"  # neutral, people, Persian and any language without a stemmer here
WEIGHTS = "ABCD"
# ts_rank_cd's weights, in the order {D, C, B, A}: what a word in each class is worth.
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
FUZZY_MAX_DOCUMENTS = 20_000
_FUZZY_MIN_LETTERS = 4  # shorter words must match exactly (as with Whoosh)
_INSERT_BATCH = 500
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"  # fixed width: compared as text
# Bumped when the folding or the text search configurations change: every row carries the version it was
# analysed with (a tag), and ``status`` asks for a rebuild while older rows remain.
ANALYSIS_VERSION = "1"
_ANALYSIS_TAG = f"_analysis={ANALYSIS_VERSION}"


def configuration(analyser: str) -> str:
    return CONFIGURATIONS.get(analyser, NEUTRAL)


def weights_of(collection) -> dict:
    """TEXT field -> its weight class (``Field.weight``, else the next free class)."""
    texts = {name: spec for name, spec in collection.fields.items() if spec.kind == backend.TEXT}
    taken = {spec.weight for spec in texts.values() if spec.weight}
    free = [w for w in WEIGHTS if w not in taken]
    chosen = {}
    for name, spec in texts.items():
        if spec.weight:
            chosen[name] = spec.weight
        elif free:
            chosen[name] = free.pop(0)
        else:
            raise ValueError(f"collection {collection.name}: more than four text fields need Field.weight")
    return chosen


def _date_text(moment):
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime(_DATE_FORMAT)


def _analysed_language(analyser):
    return analyser if analyser in folding.LANGUAGES else None


# --------------------------------------------------------------------------- filters as SQL

class _Sql:
    """Parameters of one statement, numbered as they are added."""

    def __init__(self):
        self.params = {}

    def param(self, value):
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def compile_filter(where, sql: _Sql) -> str:
    """The SQL condition on ``search_documents`` for a backend.Filter."""
    if isinstance(where, backend.Is):
        return f"tags && CAST({sql.param([f'{where.field}={v}' for v in where.values])} AS text[])"
    if isinstance(where, backend.Between):
        parts = []
        if where.low is not None:
            parts.append(f"dates->>'{_name(where.field)}' >= {sql.param(_date_text(where.low))}")
        if where.high is not None:
            parts.append(f"dates->>'{_name(where.field)}' <= {sql.param(_date_text(where.high))}")
        return " AND ".join(parts) or f"dates ? '{_name(where.field)}'"
    if isinstance(where, backend.AllOf):
        return "(" + " AND ".join(compile_filter(part, sql) for part in where.parts) + ")"
    if isinstance(where, backend.AnyOf):
        return "(" + " OR ".join(compile_filter(part, sql) for part in where.parts) + ")"
    if isinstance(where, backend.Not):
        return f"NOT ({compile_filter(where.part, sql)})"
    if isinstance(where, backend.Nothing):
        return "FALSE"
    raise TypeError(f"not a search filter: {where!r}")


def _name(field_name):
    if not re.fullmatch(r"\w+", field_name):
        raise ValueError(f"not a field name: {field_name!r}")
    return field_name


def _lexeme(word):
    """``word`` as a quoted to_tsquery operand."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


# --------------------------------------------------------------------------- the backend

class PostgresBackend(backend.SearchBackend):
    """Documents in PostgreSQL's search_documents table (see the module docstring)."""

    def __init__(self, app):
        super().__init__(app)
        check_database(app)

    @property
    def engine(self):
        with self.app.app_context():
            return db.engine

    # ----------------------------------------------------------------- writing

    def _rows(self, collection, documents):
        texts = weights_of(collection)
        for document in documents:
            tags, dates, stored, recent = [_ANALYSIS_TAG], {}, {}, None
            for name, spec in collection.fields.items():
                value = document.get(name)
                if value is None or spec.kind == backend.TEXT:
                    continue
                if spec.kind in (backend.KEY, backend.TAG):
                    tags.append(f"{name}={value}")
                elif spec.kind == backend.MULTI:
                    tags.extend(f"{name}={part}" for part in str(value).split())
                elif spec.kind == backend.DATE:
                    dates[name] = _date_text(value)
                if spec.kind in (backend.KEY, backend.STORED, backend.NUMBER) or spec.stored:
                    stored[name] = value
            if collection.recent_field and document.get(collection.recent_field) is not None:
                recent = dates.get(collection.recent_field)
            row = {"collection": collection.name, "key": str(document[collection.key]), "tags": tags,
                   "dates": json.dumps(dates), "stored": json.dumps(stored, default=str), "recent": recent}
            for name in texts:
                language = _analysed_language(collection.fields[name].analyser)
                row[f"t_{name}"] = folding.fold(document.get(name) or "", language)
            yield row

    def _insert_sql(self, collection):
        texts = weights_of(collection)
        vector = " || ".join(
            f"setweight(to_tsvector('{configuration(collection.fields[name].analyser)}', :t_{name}), '{weight}')"
            for name, weight in texts.items()) or "''::tsvector"
        return sa.text(
            # Names are the collection's fields; every value is a bound parameter.
            "INSERT INTO search_documents (collection, key, tags, dates, stored, recent, vector, indexed_at) "  # noqa: S608
            "VALUES (:collection, :key, :tags, CAST(:dates AS jsonb), CAST(:stored AS jsonb), "
            f"CAST(:recent AS timestamp), {vector}, now()) "
            "ON CONFLICT (collection, key) DO UPDATE SET tags = excluded.tags, dates = excluded.dates, "
            "stored = excluded.stored, recent = excluded.recent, vector = excluded.vector, indexed_at = now()")

    def put(self, collection, documents, delete=(), by=None):
        rows = sorted(self._rows(collection, documents), key=lambda row: row["key"])  # one lock order
        by = by or collection.key
        delete = [f"{by}={value}" for value in delete]
        with self.engine.begin() as conn:
            if delete:
                conn.execute(sa.text("DELETE FROM search_documents "
                                     "WHERE collection = :c AND tags && CAST(:d AS text[])"),
                             {"c": collection.name, "d": delete})
            if rows:
                conn.execute(self._insert_sql(collection), rows)

    def rebuild(self, collection, documents) -> int:
        """One transaction: searches see the old documents until it commits."""
        count, batch, insert = 0, [], self._insert_sql(collection)
        with self.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM search_documents WHERE collection = :c"), {"c": collection.name})
            for row in self._rows(collection, documents):
                batch.append(row)
                count += 1
                if len(batch) >= _INSERT_BATCH:
                    conn.execute(insert, batch)
                    batch = []
            if batch:
                conn.execute(insert, batch)
        return count

    def status(self, collection) -> dict:
        with self.engine.connect() as conn:
            documents, updated, older = conn.execute(sa.text(
                "SELECT count(*), max(indexed_at), count(*) FILTER (WHERE NOT tags @> CAST(:t AS text[])) "
                "FROM search_documents WHERE collection = :c"), {"c": collection.name, "t": [_ANALYSIS_TAG]}).one()
        return {"location": f"PostgreSQL table search_documents (collection {collection.name})", "documents": documents,
                "last_update": updated, "rebuild_needed": bool(older)}

    # ----------------------------------------------------------------- searching

    def _word_query(self, collection, word, fields, sql, prefix=False):
        """One word in any of ``fields`` (their weight classes, each analyser's way), as a tsquery SQL
        expression; while typing, also as the start of a longer word."""
        weights = weights_of(collection)
        by_configuration = {}
        for name in fields:
            analyser = collection.fields[name].analyser
            key = (configuration(analyser), _analysed_language(analyser))
            by_configuration.setdefault(key, set()).add(weights[name])
        options = []
        for (config, language), classes in sorted(by_configuration.items()):
            # No classes named when all are wanted: a class restriction makes PostgreSQL recheck every row
            # the GIN index finds (an agent's search of a common word: a third of the table).
            marks = "" if set(weights.values()) <= classes else "".join(sorted(classes))
            folded = folding.fold(word, language)
            options.append(f"to_tsquery('{config}', {sql.param(_lexeme(folded) + (':' + marks if marks else ''))})")
            if prefix:
                options.append(f"to_tsquery('{config}', {sql.param(_lexeme(folded) + ':*' + marks)})")
                # A stemmer may cut a partial word differently: its plain folded letters count too.
                options.append(f"to_tsquery('{NEUTRAL}', {sql.param(_lexeme(folded) + ':*' + marks)})")
        return "(" + " || ".join(options) + ")" if options else None

    def _query(self, collection, request, sql, words, typing=False, alternatives=None):
        parts = []
        for at, word in enumerate(words):
            last = at == len(words) - 1
            options = [self._word_query(collection, w, request.fields, sql, prefix=typing and last)
                       for w in [word, *(alternatives or {}).get(word, ())]]
            options = [o for o in options if o]
            if options:
                parts.append("(" + " || ".join(options) + ")")
        return " && ".join(parts) if parts else None

    def search(self, collection, request) -> backend.Found:
        # Words as a person separates them (an address stays one: each field's parser decides).
        words = [chunk for chunk in request.text.split() if folding.WORD.search(chunk)]
        if not words:
            return backend.Found()
        with self.engine.connect() as conn:
            attempts = [dict(typing=False)]
            if request.typing:
                attempts.append(dict(typing=True))
            if request.fuzzy:
                attempts.append(dict(alternatives=self._near_words(conn, collection, request, words)))
            for attempt in attempts:
                if attempt.get("alternatives") == {}:
                    continue
                found = self._search(conn, collection, request, words, **attempt)
                if found.documents:
                    return found
        return backend.Found()

    def _search(self, conn, collection, request, words, typing=False, alternatives=None):
        sql = _Sql()
        q = self._query(collection, request, sql, words, typing, alternatives)
        if q is None:
            return backend.Found()
        where = f"collection = {sql.param(collection.name)}"
        if request.filter is not None:
            where += " AND " + compile_filter(request.filter, sql)
        # Last: PostgreSQL keeps the written order of equally cheap conditions, and the filters' arrays are
        # cheaper to test than a (compressed) tsvector, read while walking the newest rows.
        where += " AND vector @@ q.q"
        # Every value in ``q`` and ``where`` is a bound parameter (``_Sql``).
        matching = f"FROM search_documents, (SELECT {q} AS q) q WHERE {where}"
        limit = int(self.app.config.get("SEARCH_COUNT_LIMIT") or 0)
        # Counting every match reads each matching row (GIN tsvector matches are rechecked in the table):
        # a word in a fifth of a million tickets takes ~0.4 s; SEARCH_COUNT_LIMIT stops counting earlier.
        count = f"SELECT count(*) FROM (SELECT 1 {matching}{f' LIMIT {limit}' if limit else ''}) m"  # noqa: S608
        total = conn.execute(sa.text(count), sql.params).scalar()
        if not total:
            return backend.Found()
        ranked = None
        candidates = f"SELECT key, stored, vector, q.q AS q {matching}"
        if request.window and total > request.window and collection.recent_field:
            # Very many matches: rank the most recently active instead of scoring every one.
            # The order of ix_search_documents_recent (DESC, nulls first): read along it, a common word's
            # newest matches come after a few thousand rows.
            candidates += f" ORDER BY recent DESC LIMIT {int(request.window)}"
            ranked = min(total, request.window)
        rows = conn.execute(sa.text(
            f"SELECT stored, vector FROM ({candidates}) c "  # noqa: S608
            f"ORDER BY ts_rank_cd('{RANK_WEIGHTS}', vector, q) DESC, key LIMIT {int(request.limit)}"),
            sql.params).all()
        found = backend.Found(documents=[row.stored for row in rows], total=total, ranked=ranked)
        found.terms = self._matched_terms(conn, collection, request, words, [row.vector for row in rows],
                                          typing, alternatives)
        return found

    def _matched_terms(self, conn, collection, request, words, vectors, typing, alternatives):
        """Per field, the lexemes of the hits that the query's words stand for (completions and typo
        alternatives included), as ``highlight`` and the ticket snippets want them."""
        weights = weights_of(collection)
        analysers = {collection.fields[name].analyser for name in request.fields}
        last = len(words) - 1
        asked = [(analyser, w, at == last) for at, word in enumerate(words) for analyser in sorted(analysers)
                 for w in [word, *(alternatives or {}).get(word, ())]]
        analysed = _analyse(conn, [(analyser, w) for analyser, w, _ in asked])
        exact, prefixes = set(), set()
        for (analyser, w, is_last), lexemes in zip(asked, analysed, strict=True):
            exact.update(lexemes)
            if typing and is_last:
                prefixes.update(lexemes)
                prefixes.add(folding.fold(w, _analysed_language(analyser)))
        by_field = {}
        for vector in vectors:
            for lexeme, classes in _lexemes(vector):
                if lexeme in exact or any(lexeme.startswith(p) for p in prefixes):
                    for name in request.fields:
                        if weights[name] in classes:
                            by_field.setdefault(name, set()).add(lexeme)
        return {name: frozenset(texts) for name, texts in by_field.items()}

    def _near_words(self, conn, collection, request, words) -> dict:
        """Word -> the collection's words one typo away (same first letter), for words of 4 letters or more;
        {} when there are none or the collection is too big to look through its words."""
        long_words = [w for w in words if len(folding.fold(w)) >= _FUZZY_MIN_LETTERS]
        if not long_words:
            return {}
        count = conn.execute(sa.text("SELECT count(*) FROM search_documents WHERE collection = :c"),
                             {"c": collection.name}).scalar()
        if count > FUZZY_MAX_DOCUMENTS:
            return {}
        statement = f"SELECT vector FROM search_documents WHERE collection = '{_name(collection.name)}'"  # noqa: S608
        vocabulary = conn.execute(sa.text("SELECT word FROM ts_stat(:s)"), {"s": statement}).scalars().all()
        near = {}
        for word in long_words:
            stems = {t for name in request.fields for t in self.terms(collection, name, word, conn=conn)}
            found = {v for v in vocabulary for stem in stems
                     if v[:1] == stem[:1] and v != stem and _one_edit(stem, v)}
            if found:
                near[word] = sorted(found)
        return near

    def terms(self, collection, field_name, text, conn=None) -> list:
        spec = collection.fields[field_name]
        folded = folding.fold(text, _analysed_language(spec.analyser))
        statement = sa.text("SELECT lexeme FROM unnest(to_tsvector(CAST(:c AS regconfig), :t)) ORDER BY positions[1]")
        params = {"c": configuration(spec.analyser), "t": folded}
        if conn is not None:
            return conn.execute(statement, params).scalars().all()
        with self.engine.connect() as own:
            return own.execute(statement, params).scalars().all()

    def highlight(self, collection, field_name, text, wanted) -> str:
        """Up to two fragments of ``text`` around the words whose lexemes are ``wanted``, HTML-escaped, the
        words in <mark> (the markup of the Whoosh backend)."""
        if not text or not wanted:
            return ""
        spec = collection.fields[field_name]
        language = _analysed_language(spec.analyser)
        found = list(folding.WORD.finditer(text))
        distinct = sorted({folding.fold(m.group(), language) for m in found})
        with self.engine.connect() as conn:
            lexemes = dict(conn.execute(sa.text(
                "SELECT w, ARRAY(SELECT lexeme FROM unnest(to_tsvector(CAST(:c AS regconfig), w))) "
                "FROM unnest(CAST(:words AS text[])) w"), {"c": configuration(spec.analyser), "words": distinct}).all())
        marked = [m for m in found if set(lexemes.get(folding.fold(m.group(), language)) or ()) & set(wanted)]
        return fragments(text, marked)


def _analyse(conn, pairs) -> list:
    """The lexemes of each (analyser, text) in ``pairs``, in one round trip."""
    if not pairs:
        return []
    configs = [configuration(analyser) for analyser, _ in pairs]
    texts = [folding.fold(text, _analysed_language(analyser)) for analyser, text in pairs]
    found = [[] for _ in pairs]
    for at, lexeme in conn.execute(sa.text(
            "SELECT x.i, v.lexeme FROM unnest(CAST(:c AS text[]), CAST(:t AS text[])) WITH ORDINALITY x(c, t, i), "
            "unnest(to_tsvector(CAST(x.c AS regconfig), x.t)) v"), {"c": configs, "t": texts}):
        found[at - 1].append(lexeme)
    return found


def fragments(text, matches, count=2, surround=40, maxchars=200) -> str:
    """Up to ``count`` pieces of ``text`` around ``matches`` (regex matches), escaped, each match in <mark>."""
    return backend.marked_fragments(text, matches, count, surround, maxchars)


_VECTOR_ITEM = re.compile(r"'((?:[^']|'')*)'(?::([0-9A-D,]+))?")


def _lexemes(vector):
    """(lexeme, weight classes) of a tsvector as psycopg returns it (its text form)."""
    for match in _VECTOR_ITEM.finditer(str(vector)):
        lexeme = match.group(1).replace("''", "'").replace("\\\\", "\\")
        positions = match.group(2) or ""
        classes = {p[-1] if p[-1] in "ABC" else "D" for p in positions.split(",") if p} or {"D"}
        yield lexeme, classes


def _one_edit(a, b) -> bool:
    """Whether ``a`` becomes ``b`` by one inserted, deleted or replaced letter (a swap is two, as in Whoosh)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def check_database(app):
    """Refuse to start the PostgreSQL backend on another database (SQLite: use Whoosh)."""
    url = str(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    if not url.startswith("postgresql"):
        raise RuntimeError('SEARCH_BACKEND = "postgresql" needs a PostgreSQL database (SQLALCHEMY_DATABASE_URI '
                           f'is {url.split(":", 1)[0] or "unset"}); use SEARCH_BACKEND = "whoosh" with SQLite')
