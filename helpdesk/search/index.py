"""Ticket search: what a ticket's index document holds, and the only functions that write or search it:
``index_ticket``, ``index_tickets``, ``remove_ticket``, ``rebuild`` and ``search_tickets``. The index itself
is the configured backend's (``helpdesk.search.backend``); nothing here knows which one.

Writes come from the ``search`` queue (one worker for Whoosh, any number for PostgreSQL) or, without Redis,
from in-process jobs."""
from dataclasses import dataclass, field
from datetime import UTC

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from helpdesk.db import in_batches
from helpdesk.extensions import db
from helpdesk.search import backend, folding, scope
from helpdesk.search.backend import DATE, KEY, NUMBER, TAG, TEXT, Between, Collection, Field, Is
from helpdesk.tickets import access
from helpdesk.tickets.models import INTERNAL_NOTE, SYSTEM_EVENT, Ticket

REBUILD_BATCH = 500
_NONE = "none"  # department or assignee of a ticket without one

TICKETS = Collection("tickets", {
    "id": Field(KEY),
    "number": Field(NUMBER),
    "subject": Field(TEXT, boost=2.0, weight="A"),
    "body": Field(TEXT, weight="C"),  # every public message: the customer's and agents' replies
    "notes": Field(TEXT, weight="D"),  # internal notes: searched for agents only
    "details": Field(TEXT, weight="C"),  # the facts given with the ticket: reference, server IP, diagnostics...
    "participants": Field(TEXT, analyser="people", weight="B"),
    "status": Field(TAG),
    "department": Field(TAG),
    "assignee": Field(TAG),
    "created": Field(DATE),
    "updated": Field(DATE),  # the later of the last change and the last activity
}, recent_field="updated")
PUBLIC_FIELDS = ("subject", "body", "details", "participants")
AGENT_FIELDS = (*PUBLIC_FIELDS, "notes")
# The ticket columns the access rule may compare that the index holds too (see scope).
_INDEXED_COLUMNS = {"id": ("id", None), "status": ("status", None), "department_id": ("department", _NONE),
                    "assignee_id": ("assignee", _NONE)}


@dataclass
class SearchHit:
    """One ticket found: its id and number, the ticket row, and highlighted snippets (HTML, escaped)."""

    ticket_id: int
    number: int
    ticket: Ticket
    highlights: dict = field(default_factory=dict)


class SearchResults(list):
    """The best hits (SearchHit), with ``total``: how many tickets the index found for the words and
    filters (less those the database refused among the hits); ``ranked``: None when every match was
    ranked, else how many of the most recently active matches were (SEARCH_RANKED_WINDOW);
    ``recent_days``: None, or N when only the tickets active in the last N days were searched (words in
    more tickets than SEARCH_FULL_INDEX_POSTINGS)."""

    def __init__(self, hits=(), total=0, ranked=None, recent_days=None):
        super().__init__(hits)
        self.total = total
        self.ranked = ranked
        self.recent_days = recent_days


def _naive_utc(moment):
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _details_text(details):
    """The ticket's details as words: an IP address stays one word (the index keeps inner dots)."""
    if details is None:
        return ""
    return "\n".join(value for value in (details.reference, details.server_ip, details.service_ref,
                                         details.service_label, details.company_name, details.customer_number,
                                         details.diagnostics) if value)


def _texts(ticket):
    messages = [m for m in ticket.messages if m.kind != SYSTEM_EVENT]
    return {
        "subject": ticket.subject,
        "body": "\n\n".join(m.body_text for m in messages if m.kind != INTERNAL_NOTE),
        "notes": "\n\n".join(m.body_text for m in messages if m.kind == INTERNAL_NOTE),
        "participants": "\n".join(f"{p.name} {p.email}" for p in ticket.participants),
        "details": _details_text(ticket.details),
    }


def document(ticket) -> dict:
    """The index document of ``ticket`` (its messages and participants loaded)."""
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


def load(ticket_ids, session=None):
    """The tickets with these ids, their messages, participants and details loaded (for ``document``)."""
    return (session or db.session).scalars(
        sa.select(Ticket).where(Ticket.id.in_(ticket_ids))
        .options(selectinload(Ticket.messages), selectinload(Ticket.participants), selectinload(Ticket.details))
    ).all()


def index_ticket(ticket_id):
    """Put the ticket's current state into the index (or take it out if it no longer exists)."""
    index_tickets([ticket_id])


def index_tickets(ticket_ids):
    """Put these tickets' current state into the index in one write (gone ones are taken out)."""
    ids = list(dict.fromkeys(int(i) for i in ticket_ids))
    if not ids:
        return
    documents = [document(ticket) for ticket in load(ids)]
    gone = set(ids) - {int(d["id"]) for d in documents}
    backend.get_backend().put(TICKETS, documents, delete=sorted(gone))


def remove_ticket(ticket_id):
    """Take the ticket out of the index (nothing happens if it is not there)."""
    backend.get_backend().put(TICKETS, [], delete=[ticket_id])


def _all_documents(batch_size):
    for session, ids in in_batches(db.engine, Ticket, batch_size):
        for ticket in load(ids, session):
            yield document(ticket)


def rebuild(batch_size=REBUILD_BATCH) -> int:
    """Index every ticket again, ``batch_size`` at a time, and replace the whole index at once (searches
    keep using the old one until then). Returns the number of tickets indexed."""
    return backend.get_backend().rebuild(TICKETS, _all_documents(batch_size))


def status() -> dict:
    """The backend's account of the ticket index (documents, location, whether a rebuild is due)."""
    return backend.get_backend().status(TICKETS)


def visibility_filter(actor):
    """The tickets ``actor`` may find, as a search filter read from ``access.visible_tickets`` (None: all).
    It may allow more than the rule (what the index cannot express); hits are checked in the database."""
    return scope.filter_from_select(access.visible_tickets(actor), Ticket.__table__, _INDEXED_COLUMNS)


def _id_of(value):
    return getattr(value, "id", value)


def _filters(status, department, assignee, since, until):
    """The search page's filters, as (search filters, the same conditions in SQL)."""
    filters, conditions = [], []
    if status:
        filters.append(Is("status", status))
        conditions.append(Ticket.status == status)
    for name, column, value in (("department", Ticket.department_id, department),
                                ("assignee", Ticket.assignee_id, assignee)):
        if value:
            value = _id_of(value)
            filters.append(Is(name, value))
            conditions.append(column.is_(None) if value == _NONE else column == int(value))
    if since or until:
        filters.append(Between("created", since, until))
        if since:
            conditions.append(Ticket.created_at >= since)
        if until:
            conditions.append(Ticket.created_at <= until)
    return filters, conditions


def snippet(text, words, fragments=2, surround=40, maxchars=200) -> str:
    """Up to ``fragments`` pieces of ``text`` around the words of the query (``words``: as the index has
    them, folded), HTML-escaped, the words in <mark>; "" when none is in it. Tokenised with the index's
    own word pattern and folding, so what was found is what is marked."""
    found = [m for m in folding.WORD.finditer(text) if folding.fold(m.group()) in words]
    return backend.marked_fragments(text, found, fragments, surround, maxchars, between=" ")


def _hit(ticket, fields, words):
    texts = _texts(ticket)
    highlights = {name: snippet(texts[name], words) for name in fields if texts[name]}
    return SearchHit(ticket_id=ticket.id, number=ticket.number, ticket=ticket,
                     highlights={name: html for name, html in highlights.items() if html})


def search_tickets(actor, text, *, status=None, department=None, assignee=None, since=None, until=None,
                   limit=50) -> "SearchResults":
    """Tickets matching ``text`` that ``actor`` may see, best first, with highlighted snippets.

    Internal notes are searched for agents only. ``department`` and ``assignee`` are objects or ids
    (``"none"`` for tickets without one); ``since`` and ``until`` bound the creation time. The index
    narrows by ``access.visible_tickets`` as far as it can express it; the database then checks every hit
    against the same rule and the filters, so a stale index never shows a ticket it should not."""
    fields = AGENT_FIELDS if (actor.is_agent or actor.is_system) else PUBLIC_FIELDS
    filters, conditions = _filters(status, department, assignee, since, until)
    config = current_app.config
    request = backend.SearchRequest(
        text or "", fields, backend.all_of(visibility_filter(actor), *filters), limit=limit,
        window=config["SEARCH_RANKED_WINDOW"], recent_postings=config["SEARCH_FULL_INDEX_POSTINGS"])
    found = backend.get_backend().search(TICKETS, request)
    results = SearchResults(total=found.total, ranked=found.ranked, recent_days=found.recent_days)
    ids = [int(d["id"]) for d in found.documents]
    if not ids:
        return results
    visible = {t.id: t for t in db.session.scalars(
        access.visible_tickets(actor).where(Ticket.id.in_(ids), *conditions)
        .options(selectinload(Ticket.messages), selectinload(Ticket.participants),
                 selectinload(Ticket.details)))}
    words = frozenset().union(*found.terms.values())
    results.extend(_hit(visible[i], fields, words) for i in ids if i in visible)
    results.total -= len(ids) - len(results)  # hits the database refused (a stale index entry) are not counted
    return results
