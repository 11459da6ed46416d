"""Model base with a constraint naming convention, UTC timestamps, and the per-name counters."""
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, scoped_session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; helpdesk stores aware UTC timestamps only")
        value = value.astimezone(UTC)
        # SQLite keeps no offset; store naive UTC there so comparisons stay lexical-safe.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Counter(Model):
    """Named monotonic counters (ticket numbers); one row per name, bumped under a row lock."""

    __tablename__ = "counters"
    name = sa.Column(sa.String(50), primary_key=True)
    value = sa.Column(sa.BigInteger, nullable=False)


def next_value(session, name: str, start: int) -> int:
    """Return the next value of counter ``name``; the row stays locked until the caller commits.
    In a deferred batch the row is bumped once, later values are counted in memory and the last
    one is written when the batch flushes (the lock held since the first bump keeps them ours)."""
    if deferring(session):
        taken = session.info.setdefault(_COUNTERS, {})
        if name in taken:
            taken[name] += 1
            return taken[name]
        taken[name] = _bump(session, name, start)
        when_flushed(session, lambda: session.execute(
            sa.update(Counter).where(Counter.name == name).values(value=taken[name])))
        return taken[name]
    return _bump(session, name, start)


def _bump(session, name, start):
    bumped = session.execute(
        sa.update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar()
    if bumped is not None:
        return bumped
    # First use: create the row. A concurrent creator makes our insert fail; retry the update then.
    try:
        with session.begin_nested():
            session.add(Counter(name=name, value=start))
        return start
    except sa.exc.IntegrityError:
        return _bump(session, name, start)


_BATCH = "helpdesk_batch"
_DEFERRED = "helpdesk_deferred"
_COUNTERS = "helpdesk_deferred_counters"
_AFTER_FLUSH = "helpdesk_after_flush"
_BATCH_STATE = (_DEFERRED, _COUNTERS, _AFTER_FLUSH)
_SQLITE_IMMEDIATE = "helpdesk_sqlite_immediate"


def commit_service_call(session):
    """End a public service call: commit, unless a caller runs several calls in one ``batch`` (the mail
    gateway does), in which case the batch commits them all at once. In a ``batch`` each call is
    flushed (so a savepoint around it holds its rows), except in a deferred batch, which writes
    everything in one flush at its end."""
    if session.info.get(_BATCH):
        if not session.info.get(_DEFERRED):
            session.flush()
    else:
        session.commit()


def begin_write(session):
    """Start a transaction that is going to write: on SQLite it waits for the write lock up front."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.connection(execution_options={_SQLITE_IMMEDIATE: True})


def in_batch(session) -> bool:
    return bool(session.info.get(_BATCH))


def deferring(session) -> bool:
    """True inside a deferred batch: rows get their ids only when the batch ends."""
    return bool(session.info.get(_DEFERRED))


def when_flushed(session, callback):
    """Run ``callback()`` once the session's pending rows have ids: at once (after a flush), or in a
    deferred batch after its single flush, before it commits (callbacks may add or change rows)."""
    if session.info.get(_DEFERRED):
        session.info.setdefault(_AFTER_FLUSH, []).append(callback)
    else:
        session.flush()
        callback()


def _run_after_flush(session):
    session.flush()
    while callbacks := session.info.pop(_AFTER_FLUSH, None):
        for callback in callbacks:
            callback()
        session.flush()


class batch:
    """``with batch(session):`` runs service calls in one transaction committed at the end (rolled back
    on error). Wrap each call in ``session.begin_nested()`` to keep one failure from undoing the rest.

    ``deferred=True`` is the fast path for bulk work (the mail gateway's batches): no flush until the
    end, so the inserts of a hundred tickets go out as a few multi-row statements. Savepoints cannot
    isolate unflushed calls, so a deferred batch is all or nothing: the caller redoes a failed one
    without ``deferred``. Lookups that must see rows added earlier in the batch consult the caller's
    own in-memory indexes (see ``deferred_index``)."""

    def __init__(self, session, deferred=False):
        self.session = session
        self.deferred = deferred

    def __enter__(self):
        self.session.info[_BATCH] = True
        if self.deferred:
            self.session.info[_DEFERRED] = True
        begin_write(self.session)
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                if self.deferred:
                    _run_after_flush(self.session)
                self.session.info.pop(_BATCH, None)
                self.session.commit()
            else:
                self.session.rollback()
        except BaseException:
            self.session.rollback()
            raise
        finally:
            self.session.info.pop(_BATCH, None)
            for key in _BATCH_STATE:
                self.session.info.pop(key, None)
            self.session.info.pop(_INDEX, None)
        return False


_INDEX = "helpdesk_deferred_index"


def deferred_index(session, kind: str) -> dict | None:
    """A dict for ``kind`` (e.g. Message-IDs to tickets) that lives as long as the current deferred
    batch, for lookups that must find rows the batch added but has not written yet; None outside one."""
    if not session.info.get(_DEFERRED):
        return None
    return session.info.setdefault(_INDEX, {}).setdefault(kind, {})


def configure_sqlite(engine):
    """SQLite settings for a server: WAL, foreign keys, a busy timeout, and SQLAlchemy's documented fix
    so SAVEPOINTs work with the sqlite3 driver. A ``batch`` starts with BEGIN IMMEDIATE (it will write,
    so it waits for its turn as the one writer up front); other transactions start deferred so pages
    that only read never block a writer. A deferred transaction whose snapshot went stale before it
    writes gets an error from SQLite rather than overwriting what another process wrote."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(_SQLITE_IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def in_batches(engine, model, batch_size: int):
    """Yield ``(session, ids)`` for every row of ``model`` in id order, ``batch_size`` ids at a time, in a
    session of its own that is emptied after each batch: a rebuild over a million rows need not keep them
    in memory, nor detach the caller's objects."""
    from sqlalchemy.orm import Session

    last = 0
    with Session(engine) as session:
        while True:
            ids = session.scalars(sa.select(model.id).where(model.id > last).order_by(model.id)
                                  .limit(batch_size)).all()
            if not ids:
                return
            yield session, ids
            last = ids[-1]
            session.expunge_all()
