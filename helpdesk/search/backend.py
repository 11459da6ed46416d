"""The interface every search backend implements, the neutral vocabulary callers speak to it (collections,
fields, filters, search requests and what a search found), and ``get_backend()``: the backend the
SEARCH_BACKEND setting names.

A backend is a class with a constructor taking the Flask app and these methods (see ``SearchBackend``):

- ``put(collection, documents, delete=(), by=None)``: take out the documents whose ``by`` field (the key
  field by default) has one of the ``delete`` values, then add or replace ``documents`` (dicts keyed by
  field name, the key field naming each one), as one change;
- ``rebuild(collection, documents)``: replace the whole collection with ``documents`` (an iterable that
  may be long: read it once, batch by batch), searches using the old one until it is done; returns how
  many were written;
- ``search(collection, request)``: the keys of the best documents for a ``SearchRequest`` (words in some
  text fields, a ``Filter``, a limit, typing and typo options), best first, as a ``Found``;
- ``highlight(collection, field, text, terms)``: HTML fragments of ``text`` with the found terms marked;
- ``terms(collection, field, text)``: the terms ``text`` becomes in ``field`` (what a search looks up);
- ``status(collection)``: what an operator needs to know (documents, where, whether a rebuild is due).

Text is folded with ``helpdesk.search.folding`` by every backend, so a word meets its other spellings the
same way everywhere. A backend keeps or drops ``Found.ranked``/``recent_days`` shortcuts as it needs them;
callers check every key they get back against the database, so a backend may return a superset of what
the filter allows (never less)."""
import importlib
from dataclasses import dataclass, field
from html import escape
from typing import Any

from flask import current_app

BACKENDS = {  # SEARCH_BACKEND value -> "module:class"
    "whoosh": "helpdesk.search.whoosh_backend:WhooshBackend",
    "postgresql": "helpdesk.search.postgres_backend:PostgresBackend",
}

# Field kinds
KEY = "key"  # the document's unique key (stored)
STORED = "stored"  # a value given back with each hit, not searched
TAG = "tag"  # exact values, for filters (a space-separated list for MULTI)
MULTI = "multi"  # several exact values
DATE = "date"  # a naive UTC datetime, for filters and recency
NUMBER = "number"  # a stored integer
TEXT = "text"  # words, analysed by ``analyser``: "neutral", "people" or a language code


@dataclass(frozen=True)
class Field:
    kind: str
    analyser: str = "neutral"
    boost: float = 1.0
    stored: bool = False
    # TEXT fields only: the class (A, B, C or D) a backend with few field classes (PostgreSQL's tsvector
    # weights) files the field under; fields searched apart (notes for agents only) need classes of their own.
    weight: str | None = None


@dataclass(frozen=True)
class Collection:
    """A kind of document: its name, its fields, and optionally the date field that says how recently a
    document was active (a backend may rank many matches by it and keep recent documents apart)."""

    name: str
    fields: dict
    key: str = "id"
    recent_field: str | None = None

    def __hash__(self):
        return hash(self.name)


# Filters: frozen (hashable), so a backend may cache what one allows.
class Filter:
    """Restricts a search to documents that match (a backend compiles it to its own query language)."""


@dataclass(frozen=True)
class Is(Filter):
    """``field`` has one of ``values``."""

    field: str
    values: tuple

    def __init__(self, field, *values):
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "values", tuple(str(v) for v in values))


@dataclass(frozen=True)
class Between(Filter):
    """``field`` (a DATE) between ``low`` and ``high`` (either may be None), both included."""

    field: str
    low: Any = None
    high: Any = None


@dataclass(frozen=True)
class AllOf(Filter):
    parts: tuple

    def __init__(self, *parts):
        object.__setattr__(self, "parts", tuple(parts))


@dataclass(frozen=True)
class AnyOf(Filter):
    parts: tuple

    def __init__(self, *parts):
        object.__setattr__(self, "parts", tuple(parts))


@dataclass(frozen=True)
class Not(Filter):
    part: Filter


@dataclass(frozen=True)
class Nothing(Filter):
    """Matches no document."""


def all_of(*filters):
    """The filters that are not None, ANDed (None when there are none: no restriction)."""
    parts = tuple(f for f in filters if f is not None)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else AllOf(*parts)


@dataclass(frozen=True)
class SearchRequest:
    """Words typed by a person (``text``), looked for in ``fields``, among the documents ``filter`` allows.

    ``typing``: the last word may be unfinished (suggest completions); ``fuzzy``: when nothing matches, a
    short query also matches words one typo away; ``window``: when more than this many documents match,
    a backend may rank only the most recently active ``window`` of them; ``recent_postings``: words in more
    documents than this may be searched among recently active documents only (0: never)."""

    text: str
    fields: tuple
    filter: Filter | None = None
    limit: int = 50
    typing: bool = False
    fuzzy: bool = False
    window: int | None = None
    recent_postings: int = 0


@dataclass
class Found:
    """The keys and stored fields of the best documents (``documents``, best first); ``total``: how many
    matched; ``ranked``: None when all were ranked, else how many of the most recently active were;
    ``recent_days``: N when only documents active in the last N days were searched; ``terms``: per text
    field, the index terms that matched (for ``highlight``)."""

    documents: list = field(default_factory=list)
    total: int = 0
    ranked: int | None = None
    recent_days: int | None = None
    terms: dict = field(default_factory=dict)


class SearchBackend:
    """What every backend implements (see the module docstring); the Whoosh backend is the model."""

    def __init__(self, app):
        self.app = app

    def put(self, collection: Collection, documents, delete=(), by=None):
        raise NotImplementedError

    def rebuild(self, collection: Collection, documents) -> int:
        raise NotImplementedError

    def search(self, collection: Collection, request: SearchRequest) -> Found:
        raise NotImplementedError

    def highlight(self, collection: Collection, field_name: str, text: str, terms) -> str:
        raise NotImplementedError

    def terms(self, collection: Collection, field_name: str, text: str) -> list:
        raise NotImplementedError

    def status(self, collection: Collection) -> dict:
        raise NotImplementedError


def get_backend(app=None) -> SearchBackend:
    """The backend SEARCH_BACKEND names, one per application."""
    app = app or current_app._get_current_object()
    backend = app.extensions.get("helpdesk_search")
    if backend is None:
        name = app.config.get("SEARCH_BACKEND", "whoosh")
        if name not in BACKENDS:
            raise RuntimeError(f"SEARCH_BACKEND {name!r} is not one of {', '.join(sorted(BACKENDS))}")
        module, _, cls = BACKENDS[name].partition(":")
        backend = app.extensions["helpdesk_search"] = getattr(importlib.import_module(module), cls)(app)
    return backend


def marked_fragments(text, matches, count=2, surround=40, maxchars=200, between="…") -> str:
    """Up to ``count`` pieces of ``text`` around ``matches`` (regex matches, in order), HTML-escaped, each match in
    <mark>, joined by ``between``: the snippets of search hits, whichever backend found them."""
    pieces = []  # [start, end, matches]
    for match in matches:
        if pieces and match.start() - pieces[-1][1] <= surround and match.end() - pieces[-1][0] <= maxchars:
            pieces[-1][1] = min(len(text), match.end() + surround)
            pieces[-1][2].append(match)
        elif len(pieces) < count:
            pieces.append([max(0, match.start() - surround), min(len(text), match.end() + surround), [match]])
    rendered = []
    for start, end, found in pieces:
        html, at = [], start
        for match in found:
            html += [escape(text[at:match.start()]), "<mark>", escape(match.group()), "</mark>"]
            at = match.end()
        html.append(escape(text[at:end]))
        rendered.append(("…" if start else "") + "".join(html).strip() + ("…" if end < len(text) else ""))
    return between.join(rendered)
