"""The ticket search index (Whoosh at SEARCH_INDEX_PATH) and the only functions that touch it:
``index_ticket``, ``remove_ticket``, ``rebuild`` and ``search_tickets``. Everything else goes through
these, so a larger engine can replace Whoosh behind the same four calls.

Writes come from the ``search`` queue (one worker) or, without Redis, from in-process jobs; Whoosh
allows one writer per index, so writers wait for its lock (and, in one process, for ours)."""
import bisect
import os
import re
import threading
import time
import unicodedata
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from whoosh import index, matching, qparser, query, writing
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer
from whoosh.fields import DATETIME, ID, NUMERIC, TEXT, Schema
from whoosh.reading import TermNotFound
from whoosh.support.charset import accent_map

from helpdesk.db import in_batches
from helpdesk.extensions import db
from helpdesk.tickets import access
from helpdesk.tickets.models import INTERNAL_NOTE, SYSTEM_EVENT, Ticket

REBUILD_BATCH = 500
WRITER_TIMEOUT = 60.0  # seconds a writer waits for another one (a rebuild, another process) to finish


def _folding_map():
    """Lowercase text folded to plain letters so people can type without accents in any of our languages:
    accents go (ü, ő, ç, ş), ß becomes ss, Turkish İ/ı become i, Persian gets one spelling of yeh and
    kaf and loses short-vowel marks and the zero-width non-joiner inside words."""
    charmap = dict(accent_map)
    for code in range(0x300, 0x10000):
        if unicodedata.combining(chr(code)):
            charmap[code] = ""
    charmap.update({ord("ß"): "ss", ord("ı"): "i", 0x200C: "", ord("ي"): "ی", ord("ك"): "ک", ord("ى"): "ی"})
    return charmap


# Language-neutral on purpose (StemmingAnalyzer knows only English): words, lowercased, accent-folded.
# The ZWNJ is part of a Persian word, so the tokenizer keeps it and the fold removes it.
_WORDS = r"[\w\u200c]+(\.?[\w\u200c]+)*"
_FOLD = _folding_map()
TEXT_ANALYZER = RegexTokenizer(_WORDS) | LowercaseFilter() | CharsetFilter(_FOLD)
# Participants: an email address is one token, names are words.
PEOPLE_ANALYZER = (RegexTokenizer(r"[^\s,;<>()\"']+@[^\s,;<>()\"']+|" + _WORDS) | LowercaseFilter()
                   | CharsetFilter(_folding_map()))

SCHEMA = Schema(
    id=ID(stored=True, unique=True),
    number=NUMERIC(int, bits=64, stored=True),
    subject=TEXT(analyzer=TEXT_ANALYZER, field_boost=2.0),
    body=TEXT(analyzer=TEXT_ANALYZER),  # every public message: the customer's and agents' replies
    notes=TEXT(analyzer=TEXT_ANALYZER),  # internal notes: searched for agents only
    participants=TEXT(analyzer=PEOPLE_ANALYZER),
    status=ID,
    department=ID,  # "none" for a ticket without one
    assignee=ID,  # "none" when unassigned
    created=DATETIME,
    updated=DATETIME,
)
PUBLIC_FIELDS = ["subject", "body", "participants"]
AGENT_FIELDS = [*PUBLIC_FIELDS, "notes"]
_NONE = "none"

# Whoosh's lock stops writers in other processes; this one stops threads of this process from
# stepping on each other (in-process jobs of several requests at once).
_write_lock = threading.Lock()


@dataclass
class SearchHit:
    """One ticket found: its id and number, the ticket row, and highlighted snippets (HTML, escaped)."""

    ticket_id: int
    number: int
    ticket: Ticket
    highlights: dict = field(default_factory=dict)


class SearchResults(list):
    """The best hits (SearchHit), with ``total``: how many tickets the index found for the words and
    filters (before the database's own visibility check of the hits); ``ranked``: None when every
    match was ranked, else how many of the most recently active matches were (SEARCH_RANKED_WINDOW);
    ``recent_days``: None, or N when only the tickets active in the last N days were searched (words in
    more tickets than SEARCH_FULL_INDEX_POSTINGS)."""

    def __init__(self, hits=(), total=0, ranked=None, recent_days=None):
        super().__init__(hits)
        self.total = total
        self.ranked = ranked
        self.recent_days = recent_days


def _path():
    return current_app.config["SEARCH_INDEX_PATH"]


def _recent_path():
    """The recent tier: the same documents for the tickets active in the last SEARCH_RECENT_DAYS, beside the
    full index. A word in a third of a million tickets is searched there (see search_tickets)."""
    return os.path.normpath(_path()) + "-recent"


def _recent_days():
    return int(current_app.config["SEARCH_RECENT_DAYS"] or 0)


def _recent_cutoff():
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(days=_recent_days())


def _open(path=None):
    """The index at ``path`` (the full one by default), created empty the first time (or after someone
    deleted the folder)."""
    path = path or _path()
    if not index.exists_in(path):
        os.makedirs(path, exist_ok=True)
        return index.create_in(path, SCHEMA)
    return index.open_dir(path)


def _naive_utc(moment):
    # Whoosh compares naive datetimes; ours are aware UTC.
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _texts(ticket):
    messages = [m for m in ticket.messages if m.kind != SYSTEM_EVENT]
    return {
        "subject": ticket.subject,
        "body": "\n\n".join(m.body_text for m in messages if m.kind != INTERNAL_NOTE),
        "notes": "\n\n".join(m.body_text for m in messages if m.kind == INTERNAL_NOTE),
        "participants": "\n".join(f"{p.name} {p.email}" for p in ticket.participants),
    }


def _document(ticket):
    return {
        "id": str(ticket.id),
        "number": ticket.number,
        **_texts(ticket),
        "status": ticket.status,
        "department": str(ticket.department_id) if ticket.department_id else _NONE,
        "assignee": str(ticket.assignee_id) if ticket.assignee_id else _NONE,
        "created": _naive_utc(ticket.created_at),
        "updated": _naive_utc(max(ticket.updated_at, ticket.last_activity_at)),
    }


def _load(ticket_ids, session=None):
    return (session or db.session).scalars(
        sa.select(Ticket).where(Ticket.id.in_(ticket_ids))
        .options(selectinload(Ticket.messages), selectinload(Ticket.participants))
    ).all()


def _write(change, recent_change=None, **commit_options):
    """Apply ``change(writer)`` to the full index and ``recent_change(writer)`` to the recent tier (when
    there is one), each in one commit."""
    with _write_lock:
        targets = [(_path(), change)]
        if recent_change is not None and _recent_days():
            if not index.exists_in(_recent_path()):
                # Started along with an empty index (a new desk), the tier is complete from the start;
                # beside an index that has tickets (an upgrade) it waits for `helpdesk search rebuild`.
                fresh = not index.exists_in(_path()) or _open().doc_count_all() == 0
                _open(_recent_path())
                if fresh:
                    mark_recent_tier_complete()
            targets.append((_recent_path(), recent_change))
        for path, apply in targets:
            writer = _open(path).writer(timeout=WRITER_TIMEOUT)
            try:
                apply(writer)
            except BaseException:
                writer.cancel()
                raise
            writer.commit(**commit_options)


def index_ticket(ticket_id):
    """Put the ticket's current state into the index (or take it out if it no longer exists)."""
    index_tickets([ticket_id])


_PRUNED = {}  # recent tier path -> when its old documents were last taken out (per process)


def index_tickets(ticket_ids):
    """Put these tickets' current state into the index with one writer (gone ones are taken out); the
    recent tier gets the ones active lately and, once an hour, loses those that no longer are."""
    ids = list(dict.fromkeys(int(i) for i in ticket_ids))
    if not ids:
        return
    documents = [_document(ticket) for ticket in _load(ids)]
    gone = set(ids) - {int(d["id"]) for d in documents}

    def change(writer):
        for document in documents:
            writer.update_document(**document)
        for ticket_id in gone:
            writer.delete_by_term("id", str(ticket_id))

    def recent_change(writer):
        cutoff = _recent_cutoff()
        for document in documents:
            if document["updated"] >= cutoff:
                writer.update_document(**document)
            else:
                writer.delete_by_term("id", document["id"])
        for ticket_id in gone:
            writer.delete_by_term("id", str(ticket_id))
        now = time.monotonic()
        if now - _PRUNED.get(_recent_path(), -3600) >= 3600:
            writer.delete_by_query(query.DateRange("updated", None, cutoff, endexcl=True))
            _PRUNED[_recent_path()] = now

    _write(change, recent_change)


def remove_ticket(ticket_id):
    """Take the ticket out of the index (nothing happens if it is not there)."""
    def drop(writer):
        writer.delete_by_term("id", str(ticket_id))

    _write(drop, drop)


def rebuild(batch_size=REBUILD_BATCH) -> int:
    """Index every ticket again, ``batch_size`` at a time, and replace the whole index (and the recent tier)
    in one commit each (searches keep using the old ones until then). Returns the number of tickets indexed."""
    count = 0
    recent = []

    def fill(writer):
        nonlocal count
        cutoff = _recent_cutoff()
        for session, ids in in_batches(db.engine, Ticket, batch_size):
            for ticket in _load(ids, session):
                document = _document(ticket)
                writer.add_document(**document)
                if _recent_days() and document["updated"] >= cutoff:
                    recent.append(document)
                count += 1

    def fill_recent(writer):
        for document in recent:
            writer.add_document(**document)

    _write(fill, fill_recent, mergetype=writing.CLEAR)
    if _recent_days():
        mark_recent_tier_complete()
    return count


_COMPLETE = "COMPLETE"  # in the recent tier's folder once a rebuild filled it (not just later writes)


def mark_recent_tier_complete():
    """Record that the recent tier holds every recently active ticket (written by a rebuild): until then,
    e.g. right after an upgrade, searches do not rely on it."""
    Path(_recent_path(), _COMPLETE).write_text(f"{_recent_days()}\n")


def _recent_tier_ready():
    marker = Path(_recent_path(), _COMPLETE)
    return marker.exists() and marker.read_text().strip() == str(_recent_days()) and index.exists_in(_recent_path())


_open_searchers = threading.local()


def _searcher(path):
    """A searcher per index folder kept open per thread and refreshed when the index changed: opening a
    big index reads its segment files, which costs more than most searches."""
    kept = getattr(_open_searchers, "kept", None)
    if kept is None:
        kept = _open_searchers.kept = {}
    if path in kept:
        ix, searcher = kept[path]
        if ix.latest_generation() == searcher.reader().generation():
            return searcher
        # Opened afresh rather than refreshed: a refreshed reader reuses segments and can miss the
        # deletions an update made in them.
        searcher.close()
        del kept[path]
    if len(kept) >= 4:  # an index folder no longer used (another app in this process, tests)
        for _ix, old in kept.values():
            old.close()
        kept.clear()
    ix = index.open_dir(path)
    searcher = ix.searcher()
    searcher.helpdesk_filters = {}
    kept[path] = (ix, searcher)
    return searcher


def _filter_docs(searcher, filters):
    """The documents the ``filters`` allow, as a set computed once per searcher (an agent's departments
    cover a third of a big index; working that out again on every search cost more than the search)."""
    if not filters:
        return None
    combined = query.And(filters) if len(filters) > 1 else filters[0]
    key = repr(combined)
    cache = searcher.helpdesk_filters
    docs = cache.get(key)
    if docs is None:
        if len(cache) > 64:
            cache.clear()
        docs = cache[key] = frozenset(_docs_of(searcher, combined))
    return docs


def _posting_ids(matcher):
    """Every document number in a posting list, read a block at a time (Whoosh's own all_ids() steps
    through a posting list one document at a time in Python: ten times slower on a common word)."""
    if hasattr(matcher, "matchers") and hasattr(matcher, "offsets"):  # several segments
        ids = []
        for child, offset in zip(matcher.matchers, matcher.offsets, strict=True):
            ids.extend(i + offset for i in _posting_ids(child)) if offset else ids.extend(_posting_ids(child))
        return ids
    if hasattr(matcher, "child") and hasattr(matcher, "_exclude"):  # a segment's deleted documents
        kept = _posting_ids(matcher.child)
        if matcher._exclude:
            return [i for i in kept if i not in matcher._ids]
        return [i for i in kept if i in matcher._ids]
    if all(hasattr(matcher, name) for name in ("_read_ids", "_next_block", "_atend", "_i")) and matcher._i == 0:
        ids = []
        while not matcher._atend:
            if matcher._ids is None:
                matcher._read_ids()
            ids.extend(matcher._ids)
            matcher._next_block()
        return ids
    return list(matcher.all_ids())


# Document numbers of a term in a segment, kept across searches: segments never change (deletions are
# kept beside them), so a common word's long posting list is decoded once, not on every search. Arrays
# of machine integers: small, and nothing for the garbage collector to walk.
_POSTINGS = OrderedDict()  # (segment id, field, term bytes) -> array("i")
_POSTINGS_MAX = 4_000_000  # document numbers kept in all (16 MB)
_postings_kept = 0
_postings_lock = threading.Lock()


def _term_docs(searcher, fieldname, text) -> set:
    """The index-wide numbers of the live documents with ``text`` in ``fieldname``."""
    try:
        term = searcher.schema[fieldname].to_bytes(text)
    except KeyError:
        return set()
    docs = set()
    for leaf, offset in searcher.leaf_searchers():
        ids = _segment_postings(leaf.reader(), fieldname, term)
        if leaf.reader().has_deletions():
            deleted = leaf.reader().deleted_docs_set  # computed once per reader
            ids = [i for i in ids if i not in deleted]
        docs.update(map(offset.__add__, ids) if offset else ids)
    return docs


def _segment_postings(reader, fieldname, term):
    global _postings_kept
    segment = reader.segment() if hasattr(reader, "segment") else None
    key = (segment.segment_id(), fieldname, term) if segment is not None else None
    with _postings_lock:
        ids = _POSTINGS.get(key) if key else None
        if ids is not None:
            _POSTINGS.move_to_end(key)
            return ids
    try:  # the segment's own postings, deletions not yet taken out
        ids = array("i", _posting_ids(reader._terms.matcher(fieldname, term, reader.schema[fieldname].format)))
    except (AttributeError, KeyError, TermNotFound):
        try:
            ids = array("i", _posting_ids(reader.postings(fieldname, term)))
        except TermNotFound:
            ids = array("i")
    if key is not None:
        with _postings_lock:
            if key not in _POSTINGS:
                _POSTINGS[key] = ids
                _postings_kept += len(ids)
                while _postings_kept > _POSTINGS_MAX and len(_POSTINGS) > 1:
                    _postings_kept -= len(_POSTINGS.popitem(last=False)[1])
    return ids


def _docs_of(searcher, q) -> set:
    """The (index-wide) numbers of the documents matching ``q``, read straight from the posting lists for
    the terms, ANDs and ORs a search is made of; other kinds of query go through Whoosh."""
    if isinstance(q, query.Term):
        return _term_docs(searcher, q.fieldname, q.text)
    if isinstance(q, query.And):
        parts = sorted((_docs_of(searcher, child) for child in q.subqueries), key=len)
        return set.intersection(*parts) if parts else set()
    if isinstance(q, query.Or) and not q.minmatch:
        return set().union(*(_docs_of(searcher, child) for child in q.subqueries))
    if isinstance(q, query.NumericRange):  # and DateRange: a few terms per resolution
        return _docs_of(searcher, q._compile_query(searcher.reader()))
    if isinstance(q, query.MultiTerm):  # TermRange, Prefix, Wildcard: the terms they stand for
        return set().union(*(_docs_of(searcher, query.Term(q.fieldname, text))
                             for text in q._btexts(searcher.reader())))
    return set(searcher.docs_for_query(q))


# How far back the newest matches are looked for, widening until there are SEARCH_RANKED_WINDOW of them.
_RECENT_SPANS = (timedelta(days=1), timedelta(days=7), timedelta(days=30), timedelta(days=91),
                 timedelta(days=365), timedelta(days=3 * 365))


def _recently_active(searcher, docs, window):
    """About ``window`` of ``docs``, the most recently active first: those updated in the last day, week,
    month, ... until there are enough (each span's documents are read from the index once per searcher)."""
    now = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    chosen = set()
    for span in _RECENT_SPANS:
        key = ("updated since", now - span)
        recent = searcher.helpdesk_filters.get(key)
        if recent is None:
            recent = searcher.helpdesk_filters[key] = frozenset(
                _docs_of(searcher, query.DateRange("updated", now - span, None)))
        found = docs & recent
        if len(found) >= window:
            # Enough in this span: all of the previous (newer) span, the rest of this one up to the window.
            rest = sorted(found - chosen, reverse=True)
            return chosen | set(rest[:window - len(chosen)])
        chosen = found
    rest = sorted(docs - chosen, reverse=True)
    return chosen | set(rest[:window - len(chosen)])


def _matches(searcher, parsed, filters) -> set:
    matching_docs = _docs_of(searcher, parsed)
    allowed = _filter_docs(searcher, filters)
    if allowed is not None:
        matching_docs &= allowed
    return matching_docs


def _estimate(reader, q) -> float:
    """An upper bound, from the term dictionary alone, of the postings ``_docs_of`` would read for ``q``."""
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
    if isinstance(q, query.Not):
        return float("inf")
    if isinstance(q, (query.AndNot, query.AndMaybe, query.Require)):
        return _estimate(reader, q.a)
    return float("inf")


class _Docnums(query.Query):
    """Matches exactly the given index-wide document numbers, with a score of 0: ANDed with a search,
    it has Whoosh score those documents only."""

    fieldname = None
    boost = 1.0

    def __init__(self, docnums):
        self.docnums = sorted(docnums)

    def __eq__(self, other):
        return isinstance(other, _Docnums) and self.docnums == other.docnums

    def __hash__(self):
        return hash(tuple(self.docnums))

    def __repr__(self):
        return f"_Docnums({len(self.docnums)} documents)"

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


def _scope_filter(actor):
    """The tickets ``actor`` may see, as a Whoosh query (None: no restriction), mirroring access.visible_tickets."""
    if actor.is_system or actor.is_admin:
        return None
    if actor.is_agent:
        departments = [d.id for d in actor.departments]
        if not departments:
            return None
        return query.Or([*(query.Term("department", str(d)) for d in departments),
                         query.Term("department", _NONE), query.Term("assignee", str(actor.id))])
    return None  # customers: the database check below decides


_TOKEN = re.compile(_WORDS)


def snippet(text, words, fragments=2, surround=40, maxchars=200) -> str:
    """Up to ``fragments`` pieces of ``text`` around the words of the query (``words``: as the index has
    them, lowercased and folded), HTML-escaped, the words in <mark>; "" when none is in it. Tokenised
    with the index's own word pattern and folding, so what was found is what is marked."""
    found = [m for m in _TOKEN.finditer(text) if m.group().lower().translate(_FOLD) in words]
    pieces = []  # [start, end, matches]
    for match in found:
        if pieces and match.start() - pieces[-1][1] <= surround and match.end() - pieces[-1][0] <= maxchars:
            pieces[-1][1] = min(len(text), match.end() + surround)
            pieces[-1][2].append(match)
        elif len(pieces) < fragments:
            pieces.append([max(0, match.start() - surround), min(len(text), match.end() + surround), [match]])
    rendered = []
    for start, end, matches in pieces:
        html, at = [], start
        for match in matches:
            html += [escape(text[at:match.start()]), "<mark>", escape(match.group()), "</mark>"]
            at = match.end()
        html.append(escape(text[at:end]))
        rendered.append(("…" if start else "") + "".join(html).strip() + ("…" if end < len(text) else ""))
    return " ".join(rendered)


def _id_of(value):
    return getattr(value, "id", value)


def search_tickets(actor, text, *, status=None, department=None, assignee=None, since=None, until=None,
                   limit=50) -> "SearchResults":
    """Tickets matching ``text`` that ``actor`` may see, best first, with highlighted snippets.

    Internal notes are searched for agents only. ``department`` and ``assignee`` are objects or ids
    (``"none"`` for tickets without one); ``since`` and ``until`` bound the creation time. Whoosh
    filters by the actor's departments; the database then checks every hit against
    ``access.visible_tickets`` and the filters, so a stale index never shows a ticket it should not."""
    fields = AGENT_FIELDS if (actor.is_agent or actor.is_system) else PUBLIC_FIELDS
    parser = qparser.MultifieldParser(fields, SCHEMA, group=qparser.AndGroup)
    parsed = parser.parse(text or "")
    if parsed is query.NullQuery:
        return SearchResults()
    filters = [q for q in (_scope_filter(actor),) if q is not None]
    db_filters = []
    if status:
        filters.append(query.Term("status", status))
        db_filters.append(Ticket.status == status)
    if department:
        value = _id_of(department)
        filters.append(query.Term("department", str(value)))
        db_filters.append(Ticket.department_id.is_(None) if value == _NONE else Ticket.department_id == int(value))
    if assignee:
        value = _id_of(assignee)
        filters.append(query.Term("assignee", str(value)))
        db_filters.append(Ticket.assignee_id.is_(None) if value == _NONE else Ticket.assignee_id == int(value))
    if since or until:
        filters.append(query.DateRange("created", _naive_utc(since), _naive_utc(until)))
        if since:
            db_filters.append(Ticket.created_at >= since)
        if until:
            db_filters.append(Ticket.created_at <= until)
    path = _path()
    if not index.exists_in(path):
        return SearchResults()
    searcher = _searcher(path)
    found = None
    if _recent_days() and _estimate(searcher.reader(), parsed) > current_app.config["SEARCH_FULL_INDEX_POSTINGS"] \
            and _recent_tier_ready():
        # Words in too many tickets to read them all quickly: search the tickets active lately, if that
        # finds a page of them.
        recent = _searcher(_recent_path())
        matching_docs = _matches(recent, parsed, filters)
        if len(matching_docs) >= limit:
            searcher, found = recent, SearchResults(total=len(matching_docs), recent_days=_recent_days())
    if found is None:
        matching_docs = _matches(searcher, parsed, filters)
        found = SearchResults(total=len(matching_docs))
    window = current_app.config["SEARCH_RANKED_WINDOW"]
    if len(matching_docs) > window:
        # A word in a third of a million tickets: rank the most recently active matches instead of
        # scoring every one (which takes seconds).
        matching_docs = _recently_active(searcher, matching_docs, window)
        found.ranked = len(matching_docs)
    if not matching_docs:
        return found
    results = searcher.search(query.And([parsed, _Docnums(matching_docs)]), limit=limit)
    ids = [int(hit["id"]) for hit in results]
    visible = {t.id: t for t in db.session.scalars(
        access.visible_tickets(actor).where(Ticket.id.in_(ids), *db_filters)
        .options(selectinload(Ticket.messages), selectinload(Ticket.participants)))}
    words = {text for _field, text in parsed.iter_all_terms() if isinstance(text, str)}
    for hit in results:
        ticket = visible.get(int(hit["id"]))
        if ticket is None:
            continue
        texts = _texts(ticket)
        snippets = {}
        for name in fields:
            marked = snippet(texts[name], words) if texts[name] else ""
            if marked:
                snippets[name] = marked
        found.append(SearchHit(ticket_id=ticket.id, number=ticket.number, ticket=ticket, highlights=snippets))
    found.total -= len(ids) - len(found)  # hits the database refused (a stale index entry) are not counted
    return found
