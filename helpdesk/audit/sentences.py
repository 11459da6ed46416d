"""The audit trail in words. Each domain package registers, for every action it records, a sentence (a lazy
gettext template with named placeholders) and, for the kinds of object it owns, how to name them; ``tell``
turns audit rows into sentences in the reader's language. A code without a sentence still reads as one."""
from dataclasses import dataclass, field

from flask_babel import gettext as _
from markupsafe import Markup, escape

from helpdesk.i18n import isolate
from helpdesk.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class Ref:
    """An object a sentence names: its kind (the audit ``entity``), id and words (a title, a name, a ticket's
    number). ``key`` is what the console addresses it by (a ticket's number, a staff user's id); None when the
    object has no page (deleted, or a customer)."""

    entity: str
    id: object
    label: str
    key: object = None

    def __str__(self):
        return self.label

    def render(self, link=None) -> Markup:
        """The words as HTML, a link when ``link(ref)`` gives an address."""
        return _html(self, link)


class _Params(dict):
    """Placeholders of a template; one the row does not fill reads as empty rather than failing."""

    def __missing__(self, name):
        return ""


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _html(value, link) -> Markup:
    """A value for HTML: words people typed (a title, a name, an address) set apart from the page's
    direction, an object the viewer may open linked, everything escaped."""
    if isinstance(value, (list, tuple)):
        return Markup(", ").join(_html(v, link) for v in value)
    if isinstance(value, Ref):
        address = link(value) if link is not None else None
        return Markup('<a href="%s">%s</a>') % (address, isolate(value.label)) if address else isolate(value.label)
    if isinstance(value, str):
        return isolate(value)
    return escape(_text(value))


@dataclass(frozen=True)
class Sentence:
    """A translated template and its values (strings, numbers, Refs or lists of them). Without values the
    template is a finished sentence and is shown as it is."""

    template: object
    params: dict = field(default_factory=dict)

    def __str__(self):
        template = str(self.template)
        if not self.params:
            return template
        try:
            return template % _Params({k: _text(v) for k, v in self.params.items()})
        except (TypeError, ValueError):  # a translation with a broken placeholder
            return template

    def __html__(self):
        return self.render()

    def render(self, link=None) -> Markup:
        """The sentence as HTML, every value escaped; ``link(ref)`` gives the address of an object the viewer
        may open (None: plain text)."""
        template = escape(str(self.template))
        if not self.params:
            return template
        try:
            return template % _Params({k: _html(v, link) for k, v in self.params.items()})
        except (TypeError, ValueError):
            return template


@dataclass(frozen=True)
class Kind:
    """A kind of object the trail names: what readers call it, the placeholder its sentences name it by, and
    ``describe(ids)`` → {id: Ref} in one query."""

    name: object
    placeholder: str
    describe: object


@dataclass(frozen=True)
class _Telling:
    sentence: object  # a lazy template, or a function of a Reading giving a Sentence, a string or a list
    refs: dict  # key in the row's changes → the kind of object its ids name


_KINDS: dict[str, Kind] = {}
_SENTENCES: dict[tuple[str, str], _Telling] = {}

# The helpdesk's own actors (helpdesk.actors), by the name in their label "system:<name>".
SYSTEM_ACTORS = {"system": _l("system"), "mailgateway": _l("mail gateway"), "guest-form": _l("guest form"),
                 "cli": _l("command line")}


def register_kind(entity: str, *, name, describe, placeholder="name") -> None:
    """Say how the trail names objects of ``entity`` (the owning domain package does this once)."""
    _KINDS[entity] = Kind(name=name, placeholder=placeholder, describe=describe)


def register(entity: str, action: str, sentence, refs=None) -> None:
    """Give ``action`` on ``entity`` its sentence: a lazy template filled with the object (under its kind's
    placeholder), ``actor``, the row's changes (lists joined) and, for the keys in ``refs`` (key → kind), the
    objects those ids name; or a function of a ``Reading`` for sentences that need more than that."""
    _SENTENCES[(entity, action)] = _Telling(sentence=sentence, refs=dict(refs or {}))


def has_sentence(entity: str, action: str) -> bool:
    return (entity, action) in _SENTENCES


def kind_name(entity: str):
    kind = _KINDS.get(entity)
    return kind.name if kind else _l("Other")


def pair(value):
    """(old, new) of a changes value recorded as [old, new]; (None, value) otherwise."""
    return tuple(value) if isinstance(value, list) and len(value) == 2 else (None, value)


@dataclass
class Reading:
    """What a sentence function gets: the row, its changes, the named object, and the objects looked up."""

    row: object
    changes: dict
    subject: Ref
    params: dict
    found: dict

    def ref(self, entity, id_) -> Ref | str:
        """The object ``id_`` of kind ``entity`` (named in the telling's ``refs``), or "" for none."""
        if id_ is None or id_ == "":
            return ""
        return self.found.get((entity, id_)) or Ref(entity, id_, f"#{id_}")

    def sentence(self, template, **params) -> Sentence:
        return Sentence(template, {**self.params, **params})


@dataclass(frozen=True)
class Told:
    """One audit row as people read it."""

    id: int
    at: object
    actor: object  # a Ref for a user, else words
    subject: Ref
    kind: object
    sentences: list


def _ids(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _ids(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


def _wanted(rows) -> dict:
    """kind → ids every row names (its object, its actor, the ids its telling's refs point to)."""
    wanted = {}
    for row in rows:
        wanted.setdefault(row.entity, set()).add(row.entity_id)
        if row.actor_id is not None:
            wanted.setdefault("user", set()).add(row.actor_id)
        telling = _SENTENCES.get((row.entity, row.action))
        for key, entity in (telling.refs.items() if telling else ()):
            wanted.setdefault(entity, set()).update(_ids((row.changes or {}).get(key)))
    return wanted


def _look_up(rows) -> dict:
    found = {}
    for entity, ids in _wanted(rows).items():
        kind = _KINDS.get(entity)
        ids = {i for i in ids if i is not None}
        if kind is not None and ids:
            found.update({(entity, i): ref for i, ref in kind.describe(ids).items()})
    return found


def _subject(row, found) -> Ref:
    ref = found.get((row.entity, row.entity_id))
    if ref is not None:
        return ref
    changes = row.changes or {}
    # A deleted object: the words the row kept, else its number.
    kept = next((pair(changes[k])[1] for k in ("title", "name", "email") if isinstance(pair(changes.get(k))[1], str)),
                None)
    return Ref(row.entity, row.entity_id, kept or (f"#{row.entity_id}" if row.entity_id is not None else ""))


def _actor(row, found):
    if row.actor_id is not None and ("user", row.actor_id) in found:
        return found[("user", row.actor_id)]
    label = row.actor_label or ""
    if label.startswith("system:"):
        name = label.split(":", 1)[1]
        return _("The helpdesk (%(name)s)", name=str(SYSTEM_ACTORS.get(name, name)))
    if label.startswith("user:"):  # a user since deleted: "user:<id>:<email>"
        return label.split(":", 2)[-1]
    return label


def _params(row, subject, actor, refs, found) -> dict:
    changes = row.changes or {}
    params = {}
    for key, value in changes.items():
        if key in refs:
            old, new = pair(value)
            ids = new if isinstance(new, list) else [new]
            params[key] = [found.get((refs[key], i)) or Ref(refs[key], i, f"#{i}") for i in ids if i is not None]
            if old is not None:
                olds = old if isinstance(old, list) else [old]
                params[f"old_{key}"] = [found.get((refs[key], i)) or Ref(refs[key], i, f"#{i}") for i in olds]
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            params[key] = value
        elif isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            params[key] = value
    kind = _KINDS.get(row.entity)
    params[kind.placeholder if kind else "object"] = subject
    params["object"] = subject
    params["actor"] = actor
    return params


def _fallback(row, subject) -> Sentence:
    """A code nobody gave a sentence: still a sentence, naming the kind of object and the object."""
    kind = _KINDS.get(row.entity)
    if kind is not None:
        return Sentence(_l("%(kind)s %(object)s: an action recorded as “%(action)s”."),
                        {"kind": kind.name, "object": subject, "action": row.action})
    return Sentence(_l("An action recorded as “%(action)s” on an object of the kind “%(kind)s” (%(object)s)."),
                    {"kind": row.entity, "object": subject, "action": row.action})


def _sentences(row, subject, actor, found) -> list:
    telling = _SENTENCES.get((row.entity, row.action))
    if telling is None:
        return [_fallback(row, subject)]
    params = _params(row, subject, actor, telling.refs, found)
    if not callable(telling.sentence):
        return [Sentence(telling.sentence, params)]
    told = telling.sentence(Reading(row=row, changes=row.changes or {}, subject=subject, params=params,
                                    found=found))
    told = told if isinstance(told, list) else [told]
    return [s if isinstance(s, Sentence) else Sentence(s) for s in told] or [_fallback(row, subject)]


def tell(rows) -> list[Told]:
    """Each audit row as sentences in the current locale, the objects it names looked up once per kind."""
    found = _look_up(rows)
    told = []
    for row in rows:
        subject = _subject(row, found)
        actor = _actor(row, found)
        told.append(Told(id=row.id, at=row.created_at, actor=actor, subject=subject, kind=kind_name(row.entity),
                         sentences=_sentences(row, subject, actor, found)))
    return told
