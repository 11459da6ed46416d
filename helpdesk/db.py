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


# The largest id or number our tables hold: their columns are sa.Integer, a signed 32-bit INTEGER on PostgreSQL
# (which refuses a larger value even in a WHERE clause; SQLite's driver stops at 2**63 - 1).
MAX_ID = 2**31 - 1


def parse_id(value) -> int | None:
    """An id (or a ticket number) from outside: an int, or a string of ASCII digits, from 1 to MAX_ID; None for
    anything else. ``str.isdigit`` accepts "²" and "٤", and an unbounded int overflows the database driver."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ID else None
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 40:  # int() of 5,000 digits raises
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


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
        table = Counter.__table__  # Core: no autoflush of the batch's rows before their fast write
        when_flushed(session, lambda: session.execute(
            sa.update(table).where(table.c.name == name).values(value=taken[name])))
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
    """End a deferred batch: insert its new rows, run the callbacks waiting for their ids (which may add
    rows or change them), then write the changed rows. No autoflush meanwhile: a statement run by a
    callback would otherwise first send the batch's changes through the unit of work, row by row."""
    with session.no_autoflush:
        _insert_all_new(session)
        while callbacks := session.info.pop(_AFTER_FLUSH, None):
            for callback in callbacks:
                callback()
            _insert_all_new(session)
        update_changed_rows(session)
    session.flush()  # whatever update_changed_rows left


def _insert_all_new(session):
    insert_new_rows(session)
    if session.new:  # what it could not insert; the callbacks need every id
        session.flush()


class _InsertPlan:
    """How to insert a mapped class's new rows without the unit of work: its table, primary key, the
    attribute behind each column, Python-side defaults, and the many-to-one relationships whose
    foreign keys the unit of work would have filled in."""

    def __init__(self, mapper):
        self.table = mapper.local_table
        self.pk = mapper.primary_key[0]
        self.pk_key = mapper.get_property_by_column(self.pk).key
        self.columns = [(prop.key, prop.columns[0]) for prop in mapper.column_attrs
                        if prop.columns[0].table is self.table]
        self.defaults = self._python_values("default")
        self.onupdates = self._python_values("onupdate")
        self.parents = []
        for rel in mapper.relationships:
            if rel.direction is sa.orm.interfaces.MANYTOONE:
                pairs = [(mapper.get_property_by_column(local).key, local,
                          rel.mapper.get_property_by_column(remote).key, remote is rel.mapper.primary_key[0])
                         for local, remote in rel.local_remote_pairs]
                self.parents.append((rel.key, pairs))

    def _python_values(self, hook_name):
        """{attribute key: (column, make)} for the columns whose ``default`` or ``onupdate`` is a Python
        value or function: ``make()`` gives the value the unit of work would have used."""
        values = {}
        for key, column in self.columns:
            hook = getattr(column, hook_name)
            if hook is not None and hook.is_scalar:
                values[key] = (column, lambda arg=hook.arg: arg)
            elif hook is not None and hook.is_callable:
                values[key] = (column, lambda arg=hook.arg: arg(None))
        return values

    @staticmethod
    def usable(mapper):
        pk = mapper.primary_key
        return (mapper.inherits is None and mapper.polymorphic_on is None and mapper.version_id_col is None
                and isinstance(mapper.local_table, sa.Table) and len(pk) == 1
                and isinstance(pk[0].type, sa.Integer) and pk[0].autoincrement in (True, "auto")
                and not any(hook is not None and not (hook.is_scalar or hook.is_callable)
                            for c in mapper.local_table.columns for hook in (c.default, c.onupdate)))


_plans = {}
_order = {}


def _table_order():
    if not _order:
        _order.update({table: position for position, table in enumerate(Model.metadata.sorted_tables)})
    return _order


def _plan_for(mapper):
    if mapper not in _plans:
        _plans[mapper] = _InsertPlan(mapper) if _InsertPlan.usable(mapper) else None
    return _plans[mapper]


def insert_new_rows(session):
    """Insert the session's new objects with one multi-row INSERT per table (and set of columns) instead of
    the unit of work's per-object bookkeeping, then make them persistent exactly as a flush would. Used when
    a deferred batch ends: a mail batch adds a few hundred simple rows (tickets, messages, participants,
    customers, outbox mail), and the unit of work cost more than the database did. Objects of a kind this
    cannot handle (inheritance, composite keys, version counters, SQL defaults) and rows whose parents it
    cannot resolve are left to the ordinary flush that follows."""
    if isinstance(session, scoped_session):
        session = session()
    new = list(session.new)
    if not new:
        return
    waiting = {}
    for obj in new:
        state = sa.inspect(obj)
        plan = _plan_for(state.mapper)
        if plan is None:
            return  # let the flush order everything
        waiting.setdefault(plan, []).append(state)
    order = _table_order()
    pending = {state for states in waiting.values() for state in states}
    with session.no_autoflush:
        for plan in sorted(waiting, key=lambda p: order.get(p.table, len(order))):
            states = waiting[plan]
            while states:
                ready, later = [], []
                for state in states:
                    values = _row_values(plan, state, pending)
                    (later if values is None else ready).append((state, values))
                if not ready:
                    return  # a cycle or an unknown parent: the flush sorts it out
                _insert(session, plan, ready)
                pending.difference_update(state for state, _ in ready)
                states = [state for state, _ in later]


def _row_values(plan, state, pending):
    """{attribute key: value} of the row ``state`` stands for, or None while a parent has no id yet."""
    data = state.dict
    values = {key: data[key] for key, _column in plan.columns if key in data}
    for rel_key, pairs in plan.parents:
        if rel_key not in data:
            continue
        parent = data[rel_key]
        if parent is None:
            for local_key, _local, _remote_key, _is_pk in pairs:
                values.setdefault(local_key, None)
            continue
        parent_state = sa.inspect(parent)
        if parent_state in pending or parent_state.key is None:
            return None
        for local_key, _local, remote_key, is_pk in pairs:
            values[local_key] = parent_state.key[1][0] if is_pk else getattr(parent, remote_key)
    for key, (_column, make) in plan.defaults.items():
        if key not in values:
            values[key] = make()
    return values


def _insert(session, plan, rows):
    columns = dict(plan.columns)
    groups = {}
    for state, values in rows:
        groups.setdefault(frozenset(values), []).append((state, values))
    dialect = session.get_bind().dialect.name
    for keys, members in groups.items():
        if dialect in ("sqlite", "postgresql") and plan.pk_key not in keys:
            # Ids given up front make the insert a plain executemany of one statement (prepared once).
            # With RETURNING, SQLite returns ids a row at a time, and psycopg re-parses the long
            # multi-row statement of every batch.
            for (_state, values), new_id in zip(members, _new_ids(session, plan, len(members), dialect),
                                                strict=True):
                values[plan.pk_key] = new_id
            keys = keys | {plan.pk_key}
        params = [{columns[key].key: value for key, value in values.items()} for _state, values in members]
        if plan.pk_key in keys:
            session.execute(sa.insert(plan.table), params)
        else:
            ids = session.execute(sa.insert(plan.table).returning(plan.pk, sort_by_parameter_order=True),
                                  params).scalars().all()
            for (_state, values), new_id in zip(members, ids, strict=True):
                values[plan.pk_key] = new_id
        for state, values in members:
            state.dict.update(values)
    # What the unit of work does with the objects it inserted: identity keys, committed attribute state.
    session._register_persistent({state for state, _values in rows})


def _new_ids(session, plan, count, dialect):
    if dialect == "sqlite":
        # A batch holds SQLite's write lock (BEGIN IMMEDIATE), so the ids SQLite would give are the next
        # ones after the highest.
        highest = session.execute(sa.select(sa.func.max(plan.pk))).scalar() or 0
        return range(highest + 1, highest + 1 + count)
    # PostgreSQL: drawn from the column's sequence, as the default would.
    return sorted(session.execute(
        sa.text("SELECT nextval(pg_get_serial_sequence(:table, :column)) FROM generate_series(1, :count)"),
        {"table": plan.table.name, "column": plan.pk.name, "count": count}).scalars())


def update_changed_rows(session):
    """Write the column changes of the session's modified objects with one executemany per table and set of
    changed columns (the unit of work sends an UPDATE per object whenever consecutive objects changed
    different columns), then mark them unchanged as a flush would. Objects with other pending changes
    (removed children, many-to-many links, SQL expressions) are left to the flush."""
    if isinstance(session, scoped_session):
        session = session()
    groups = {}
    for state in list(session.identity_map._modified):
        plan = _plan_for(state.mapper)
        if plan is None or state.key is None or state.deleted or state.obj() is None:
            continue
        values = _changed_values(plan, state)
        if values:
            groups.setdefault((plan, frozenset(values)), []).append((state, values))
    if not groups:
        return
    with session.no_autoflush:
        for (plan, keys), members in groups.items():
            columns = dict(plan.columns)
            statement = sa.update(plan.table).where(plan.pk == sa.bindparam("_helpdesk_pk")).values(
                {columns[key].key: sa.bindparam(columns[key].key) for key in keys})
            session.execute(statement, [{"_helpdesk_pk": state.key[1][0],
                                         **{columns[key].key: value for key, value in values.items()}}
                                        for state, values in members])
            for state, values in members:
                state.dict.update(values)
        states = [(state, state.dict) for members in groups.values() for state, _values in members]
        sa.orm.state.InstanceState._commit_all_states(states, session.identity_map)


_NO_LOAD = sa.orm.attributes.PASSIVE_NO_INITIALIZE  # history of what is loaded, without loading anything


def _changed_values(plan, state):
    """{attribute key: new value} for a modified object's changed columns; None if it has changes this
    cannot write (the flush will)."""
    changed = state.committed_state
    if not changed:
        return None
    columns = dict(plan.columns)
    parents = dict(plan.parents)
    values = {}
    for key in changed:
        if key in columns:
            if key not in state.dict:
                return None
            value = state.dict[key]
            if isinstance(value, sa.sql.ClauseElement):
                return None
            history = state.get_history(key, _NO_LOAD)
            if history.added or history.deleted:
                values[key] = value
        elif key in parents:
            history = state.get_history(key, _NO_LOAD)
            if not (history.added or history.deleted):
                continue
            parent = state.dict.get(key)
            if parent is None:
                return None  # taken off its parent: maybe an orphan to delete, which is the flush's call
            parent_state = sa.inspect(parent)
            if parent_state.key is None:
                return None
            for local_key, _local, remote_key, is_pk in parents[key]:
                values[local_key] = parent_state.key[1][0] if is_pk else getattr(parent, remote_key)
        else:
            # A collection: fine if it only gained children that are already written (their foreign
            # key is theirs to carry); anything else (a removed child, a many-to-many link) is the flush's.
            prop = state.mapper.get_property(key)
            if prop.secondary is not None:
                return None
            history = state.get_history(key, _NO_LOAD)
            if history.deleted or any(sa.inspect(child).key is None for child in history.added):
                return None
    if not values:
        return None
    for key, (_column, make) in plan.onupdates.items():
        if key not in values:
            values[key] = make()
    return values


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
