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
    """Return the next value of counter ``name``; the row stays locked until the caller commits."""
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
        return next_value(session, name, start)


_BATCH = "helpdesk_batch"
_SQLITE_IMMEDIATE = "helpdesk_sqlite_immediate"


def commit_service_call(session):
    """End a public service call: commit, unless a caller runs several calls in one ``batch`` (the mail
    gateway does, one savepoint per message), in which case the batch commits them all at once."""
    if session.info.get(_BATCH):
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


class batch:
    """``with batch(session):`` runs service calls in one transaction committed at the end (rolled back
    on error). Wrap each call in ``session.begin_nested()`` to keep one failure from undoing the rest."""

    def __init__(self, session):
        self.session = session

    def __enter__(self):
        self.session.info[_BATCH] = True
        begin_write(self.session)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.session.info.pop(_BATCH, None)
        if exc_type is None:
            self.session.commit()
        else:
            self.session.rollback()
        return False


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
