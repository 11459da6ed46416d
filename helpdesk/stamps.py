"""Settings that every request reads but admins rarely change (SLA targets and calendars, webhook endpoints),
kept in each process between transactions and checked against a version stamp in the database.

``watch("sla", SLATarget, Holiday, ...)`` names the tables a kind of settings is read from. Any ORM write to
them (a flush that adds, changes or deletes such a row, or an ORM ``update``/``delete`` statement on them) bumps
the kind's row in ``settings_stamps`` in the same transaction, so no write path can forget to. A reader calls
``cached("sla", loader)``: the stamps are read once per transaction (one statement for every kind), and the
process's copy is used while its stamp is unchanged; otherwise ``loader()`` runs and its result is kept.
Several processes stay right because the stamp lives in the database: an admin's change is seen by every
process from its next transaction on, as the per-transaction cache did before. A transaction that bumped a
stamp itself reads fresh and keeps nothing for others (it might still roll back).

Raw SQL writes to watched tables (a migration, a restore) do not bump: ``bump(kind)`` or a restart does."""
import secrets

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helpdesk.db import Model, transaction_cache, written_by_flush

_WATCHED = {}  # model class → kind
_STAMPS = "settings-stamps"
_BUMPED = "helpdesk_stamps_bumped"  # session.info: kinds this transaction bumped


class SettingsStamp(Model):
    """The version of one kind of cached settings; bumped by every write to its tables."""

    __tablename__ = "settings_stamps"
    kind = sa.Column(sa.String(40), primary_key=True)
    version = sa.Column(sa.BigInteger, nullable=False)


def watch(kind: str, *models) -> None:
    """Bump ``kind``'s stamp whenever the ORM writes one of ``models`` (a deferred batch leaves their rows to
    the flush, whose events this follows)."""
    for model in models:
        _WATCHED[model] = kind
    written_by_flush(*models)


def _process_cache() -> dict:
    return current_app.extensions.setdefault("helpdesk_settings_cache", {})


def _stamps(session) -> dict:
    cache = transaction_cache(session, _STAMPS)
    if "all" not in cache:
        cache["all"] = dict(session.execute(sa.select(SettingsStamp.kind, SettingsStamp.version)).all())
    return cache["all"]


def cached(kind: str, loader, session=None):
    """``loader()``'s result for ``kind``, read again only when its stamp has moved since this process read it."""
    session = session or current_app.extensions["sqlalchemy"].session()
    if session.get_transaction() is None:
        session.connection()  # begin it now: what is read here is kept for the transaction
    here = transaction_cache(session, f"settings:{kind}")
    if "value" in here:
        return here["value"]
    if kind in session.info.get(_BUMPED, ()):
        here["value"] = loader()
        return here["value"]
    version = _stamps(session).get(kind, 0)
    kept = _process_cache().get(kind)
    if kept is None or kept[0] != version:
        kept = (version, loader())
        _process_cache()[kind] = kept
    here["value"] = kept[1]
    return kept[1]


def bump(session, kind: str) -> None:
    """Move ``kind``'s stamp in the session's transaction: every process reads the settings again after it."""
    table = SettingsStamp.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert if dialect == "sqlite" else None
    if insert is None:  # pragma: no cover - PostgreSQL and SQLite are the engines we run on
        raise RuntimeError(f"no upsert for {dialect}")
    # A new row starts at a random version, so a table emptied and filled again (a restore, a test's clean
    # database) never repeats a version a process still holds.
    statement = insert(table).values(kind=kind, version=secrets.randbits(62))
    session.execute(statement.on_conflict_do_update(index_elements=[table.c.kind],
                                                    set_={"version": table.c.version + 1}))
    session.info.setdefault(_BUMPED, set()).add(kind)
    transaction_cache(session, _STAMPS).clear()
    transaction_cache(session, f"settings:{kind}").clear()


def _kinds_of(objects) -> set:
    return {_WATCHED[type(obj)] for obj in objects if type(obj) in _WATCHED}


@sa.event.listens_for(Session, "before_flush")
def _bump_written(session, _flush_context, _instances):
    kinds = _kinds_of(session.new) | _kinds_of(session.deleted) | _kinds_of(
        obj for obj in session.dirty if session.is_modified(obj, include_collections=False))
    for kind in sorted(kinds):
        bump(session, kind)


@sa.event.listens_for(Session, "do_orm_execute")
def _bump_statement(state):
    if not (state.is_update or state.is_delete or state.is_insert) or state.bind_mapper is None:
        return
    kind = _WATCHED.get(state.bind_mapper.class_)
    if kind is not None:
        bump(state.session, kind)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _forget_bumps(session):
    session.info.pop(_BUMPED, None)
