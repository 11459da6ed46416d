"""The ticket search index (Whoosh at SEARCH_INDEX_PATH) and the only functions that touch it:
``index_ticket``, ``remove_ticket``, ``rebuild`` and ``search_tickets``. Everything else goes through
these, so a larger engine can replace Whoosh behind the same four calls.

Writes come from the ``search`` queue (one worker) or, without Redis, from in-process jobs; Whoosh
allows one writer per index, so writers wait for its lock (and, in one process, for ours)."""
import bisect
import os
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from whoosh import highlight, index, matching, qparser, query, writing
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
TEXT_ANALYZER = RegexTokenizer(_WORDS) | LowercaseFilter() | CharsetFilter(_folding_map())
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
    filters (before the database's own visibility check of the hits), and ``ranked``: None when every
    match was ranked, else how many of the newest matches were (SEARCH_RANKED_WINDOW)."""

    def __init__(self, hits=(), total=0, ranked=None):
        super().__init__(hits)
        self.total = total
        self.ranked = ranked


def _path():
    return current_app.config["SEARCH_INDEX_PATH"]


def _open():
    """The index, created empty the first time (or after someone deleted the folder)."""
    path = _path()
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


def _write(change, **commit_options):
    with _write_lock:
        writer = _open().writer(timeout=WRITER_TIMEOUT)
        try:
            change(writer)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(**commit_options)


def index_ticket(ticket_id):
    """Put the ticket's current state into the index (or take it out if it no longer exists)."""
    index_tickets([ticket_id])


def index_tickets(ticket_ids):
    """Put these tickets' current state into the index with one writer (gone ones are taken out)."""
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

    _write(change)


def remove_ticket(ticket_id):
    """Take the ticket out of the index (nothing happens if it is not there)."""
    _write(lambda writer: writer.delete_by_term("id", str(ticket_id)))


def rebuild(batch_size=REBUILD_BATCH) -> int:
    """Index every ticket again, ``batch_size`` at a time, and replace the whole index in one commit
    (searches keep using the old one until then). Returns the number of tickets indexed."""
    count = 0

    def fill(writer):
        nonlocal count
        for session, ids in in_batches(db.engine, Ticket, batch_size):
            for ticket in _load(ids, session):
                writer.add_document(**_document(ticket))
                count += 1

    _write(fill, mergetype=writing.CLEAR)
    return count


_open_searchers = threading.local()


def _searcher(path):
    """A searcher kept open per thread and refreshed when the index changed: opening a big index reads
    its segment files, which costs more than most searches."""
    kept = getattr(_open_searchers, "kept", None)
    if kept is not None:
        kept_path, ix, searcher = kept
        if kept_path == path and ix.latest_generation() == searcher.reader().generation():
            return searcher
        # Opened afresh rather than refreshed: a refreshed reader reuses segments and can miss the
        # deletions an update made in them.
        searcher.close()
    ix = index.open_dir(path)
    searcher = ix.searcher()
    searcher.helpdesk_filters = {}
    _open_searchers.kept = (path, ix, searcher)
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


def _docs_of(searcher, q) -> set:
    """The (index-wide) numbers of the documents matching ``q``, read straight from the posting lists for
    the terms, ANDs and ORs a search is made of; other kinds of query go through Whoosh."""
    if isinstance(q, query.Term):
        try:
            return set(_posting_ids(searcher.postings(q.fieldname, q.text)))
        except TermNotFound:
            return set()
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
    matching_docs = _docs_of(searcher, parsed)
    allowed = _filter_docs(searcher, filters)
    if allowed is not None:
        matching_docs &= allowed
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
    results.fragmenter = highlight.ContextFragmenter(maxchars=200, surround=40)
    results.formatter = highlight.HtmlFormatter(tagname="mark")
    for hit in results:
        ticket = visible.get(int(hit["id"]))
        if ticket is None:
            continue
        texts = _texts(ticket)
        snippets = {}
        for name in fields:
            if texts[name]:
                snippet = hit.highlights(name, text=texts[name], top=2)
                if snippet:
                    snippets[name] = snippet
        found.append(SearchHit(ticket_id=ticket.id, number=ticket.number, ticket=ticket, highlights=snippets))
    found.total -= len(ids) - len(found)  # hits the database refused (a stale index entry) are not counted
    return found
