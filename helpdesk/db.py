"""Model base with a constraint naming convention, UTC timestamps, and the per-name counters."""
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, scoped_session
from sqlalchemy.orm.attributes import set_committed_value
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


def _bump(session, name, start):
    table = Counter.__table__  # a Core statement on the session's connection: no ORM work for one row
    bumped = session.connection().execute(
        sa.update(table).where(table.c.name == name).values(value=table.c.value + 1).returning(table.c.value)
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


_BATCH = "helpdesk_batch"  # session.info: the Batch the session is running, if any
_SQLITE_IMMEDIATE = "helpdesk_sqlite_immediate"


def commit_service_call(session):
    """End a public service call: commit, unless a caller runs several calls in one ``Batch`` (the mail
    gateway does), in which case the batch commits them all at once. In a batch each call is flushed
    (so a savepoint around it holds its rows), except in a deferred batch, which writes everything
    at its end."""
    current = session.info.get(_BATCH)
    if current is None:
        session.commit()
    elif not current.deferred:
        session.flush()


def begin_write(session):
    """Start a transaction that is going to write: on SQLite it waits for the write lock up front."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.connection(execution_options={_SQLITE_IMMEDIATE: True})


def in_batch(session) -> bool:
    return _BATCH in session.info


_TRANSACTION_CACHE = "helpdesk_transaction_cache"


def transaction_cache(session, kind: str) -> dict:
    """A dict for ``kind`` that lives as long as the session's current transaction, for settings read many
    times in one (the SLA targets of a mail batch's hundred tickets, or of a queue page's fifty). A change
    to them is seen from the next transaction on, which is where service calls that change them commit."""
    if isinstance(session, scoped_session):
        session = session()
    transaction = session.get_transaction()
    if transaction is None:
        return {}
    held = session.info.get(_TRANSACTION_CACHE)
    if held is None or held[0] is not transaction:
        held = session.info[_TRANSACTION_CACHE] = (transaction, {})
    return held[1].setdefault(kind, {})


def row_id(row):
    """A row's id: its identity, or the key a new row already holds (a deferred batch's, even once it has left
    the session; see ``Batch``). An id (what ``add_row`` gives in a deferred batch) is its own."""
    if isinstance(row, int):
        return row
    state = sa.inspect(row)
    return state.identity[0] if state.identity is not None else state.mapper.primary_key_from_instance(row)[0]


def ensure_ids(session, *objects):
    """Give ``objects`` their primary keys if they have none yet. In a deferred ``Batch`` new rows get
    theirs when they join the session, so this writes nothing there; elsewhere it flushes."""
    for obj in objects:
        state = sa.inspect(obj)
        if state.key is None and None in state.mapper.primary_key_from_instance(obj):
            session.flush()
            return


def add_row(session, model, /, **values):
    """Add a new row of ``model`` that this transaction only writes and never reads back (an audit event, a
    queued mail). In a deferred ``Batch`` that writes ``model``'s rows itself, no mapped object is made: the
    values go out with the batch's other new rows, and the row's id is returned (a mail batch writes thousands
    of such rows; an object costs more than the row). Anywhere else it is ``session.add(model(**values))``,
    and the object is returned. Values are given by attribute, foreign keys as ids; ``row_id`` and the jobs
    take either result."""
    if isinstance(session, scoped_session):
        session = session()
    current = session.info.get(_BATCH)
    if current is not None and current.deferred:
        new_id = current.add_row(model, values)
        if new_id is not None:
            return new_id
    row = model(**values)
    session.add(row)
    return row


def next_value(session, name: str, start: int) -> int:
    """Return the next value of counter ``name``; the row stays locked until the caller commits.
    In a deferred batch the row is bumped once, later values are counted in memory and the last
    one is written when the batch ends (the lock held since the first bump keeps them ours)."""
    current = session.info.get(_BATCH)
    if current is not None and current.deferred:
        return current.next_value(name, start)
    return _bump(session, name, start)


class Batch:
    """``with Batch(session) as batch:`` runs many service calls in one transaction, committed at the end
    (rolled back on error). Wrap each call in ``session.begin_nested()`` to keep one failure from undoing
    the rest. Service functions that take part say so with a ``batch`` argument; the caller hands its
    batch down to them.

    ``deferred=True`` is the fast path for bulk work (the mail gateway's batches): nothing is flushed
    until the end, where the batch's new rows go out as one multi-row INSERT per table and its changed
    rows as one UPDATE per table and set of columns, instead of through the unit of work object by
    object (see ``write_rows``). New rows get their primary keys as they join the session, so ids are
    never missing. Lookups that must find rows the batch added but has not written (a second mail
    from a new sender, a reply to a ticket opened earlier in the batch) use ``batch.index(kind)``.
    Savepoints cannot isolate unwritten calls, so a deferred batch is all or nothing: the caller redoes
    a failed one without ``deferred``.

    ``detach=True`` (deferred batches only) is for a caller that uses none of the rows it wrote once the
    batch has ended (the mail gateway reads its outcomes inside the batch): when everything was written
    this way, the written objects leave the session (new ones transient again with their keys, changed
    ones detached, each keeping what it holds) instead of each being made persistent and then expired
    by the commit, a tenth of a mail batch's time. Rows the batch only read stay in the session."""

    def __init__(self, session, deferred=False, detach=False):
        self.session = session() if isinstance(session, scoped_session) else session
        self.deferred = deferred
        self.detach = detach and deferred
        self._indexes = {}
        self._counters = {}
        self._ids = {}
        self._rounds = {}
        self._first = None  # the table of the batch's first new id
        self._used = {}
        self._plans = _Plans()  # looked up once per batch and kind of row
        self._rows = {}  # plan: [values] of the rows added by add_row, written with the new objects

    def index(self, kind: str) -> dict | None:
        """A dict for ``kind`` (e.g. Message-IDs to tickets) that lives as long as this deferred batch,
        for lookups that must find rows it added but has not written; None in a batch that flushes."""
        return self._indexes.setdefault(kind, {}) if self.deferred else None

    def add_row(self, model, values):
        """Keep a new row of ``model`` as values (see ``add_row``); its id, or None when the flush is to write
        ``model``'s rows (a listener, a mapping the batch does not write), or a value is a row or SQL."""
        plan = self._plans(sa.inspect(model))
        if plan is None or any(key not in plan.columns or hasattr(value, "__mapper__")
                               or isinstance(value, sa.sql.ClauseElement) for key, value in values.items()):
            return None
        row = dict(values)
        for key, make in plan.defaults.items():
            if key not in row:
                row[key] = make()
        new_id = row.get(plan.pk_key)
        if new_id is None:
            new_id = row[plan.pk_key] = self._next_id(plan)
        self._rows.setdefault(plan, []).append(row)
        return new_id

    def next_value(self, name, start):
        if name not in self._counters:
            self._counters[name] = _bump(self.session, name, start)
        else:
            self._counters[name] += 1
        return self._counters[name]

    def __enter__(self):
        if _BATCH in self.session.info:
            raise RuntimeError("batches do not nest")
        self.session.info[_BATCH] = self
        if self.deferred:
            self._autoflush, self.session.autoflush = self.session.autoflush, False
            sa.event.listen(self.session, "transient_to_pending", self._give_id)
        begin_write(self.session)
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                if self.deferred:
                    self._write()
                self._end()
                self.session.commit()
            else:
                self.session.rollback()
        except BaseException:
            self.session.rollback()
            raise
        finally:
            self._end()
        return False

    def _end(self):
        if self.session.info.get(_BATCH) is self:
            del self.session.info[_BATCH]
            if self.deferred:
                sa.event.remove(self.session, "transient_to_pending", self._give_id)
                self.session.autoflush = self._autoflush
                _LAST_NEED.update(self._used)
                if self._first is not None:
                    _TOGETHER[self._first] = set(self._used)

    def _give_id(self, _session, obj):
        state = sa.inspect(obj)
        plan = self._plans(state.mapper)
        if plan is not None and state.dict.get(plan.pk_key) is None:
            set_committed_value(obj, plan.pk_key, self._next_id(plan))

    def _next_id(self, plan):
        new_id = next(self._ids.get(plan.table, iter(())), None)
        if new_id is None and not self._rounds:
            self._first = plan.table
            together = _TOGETHER.get(plan.table, ())
            if len(together) > 1 and self.session.get_bind().dialect.name == "postgresql":
                # The batch's first ids: for every table the last batch that began with this one took ids from
                # (batches of one kind begin alike: a mail batch's with its first sender), in one statement.
                for table, ids in _reserve_together(self.session, together | {plan.table}).items():
                    self._ids[table], self._rounds[table] = iter(ids), (1, ids[-1])
                new_id = next(self._ids.get(plan.table, iter(())), None)
        if new_id is None:
            rounds, top = self._rounds.get(plan.table, (0, 0))
            ids, top = _reserve_ids(self.session, plan, rounds, top)
            self._ids[plan.table], self._rounds[plan.table] = iter(ids), (rounds + 1, top)
            new_id = next(self._ids[plan.table])
        self._used[plan.table] = self._used.get(plan.table, 0) + 1
        return new_id

    def _write(self):
        session = self.session
        with session.no_autoflush:
            for name, value in self._counters.items():
                session.execute(sa.update(Counter.__table__).where(Counter.__table__.c.name == name)
                                .values(value=value))
            later = write_rows(session, self._plans, detach=self.detach, rows=self._rows)
        session.flush()  # what write_rows left: kinds of rows and changes it does not handle
        for plan, rows in later.items():  # rows added as values whose parents that flush has just written
            _execute_grouped(session, sa.insert(plan.table), plan, [(None, values) for values in rows])


def _reserve_ids(session, plan, round_number, top):
    """(ids, new top): ids for new rows of ``plan``'s table, in order.
    PostgreSQL draws them from the column's sequence, as its default would: as many as the table needed in
    the last batch, doubling each round (unused ones are gaps, as after a rollback). On SQLite the batch
    holds the write lock (BEGIN IMMEDIATE), so the ids SQLite would give are the next ones after the
    highest, counted on from ``top``, the last round's: a range costs nothing, so one is plenty."""
    if session.get_bind().dialect.name == "postgresql":
        count = min(max(_LAST_NEED.get(plan.table, 16), 16) << round_number, 4096)
        ids = sorted(session.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:table, :column)) FROM generate_series(1, :count)"),
            {"table": plan.table.name, "column": plan.pk.name, "count": count}).scalars())
    else:
        highest = max(session.execute(sa.select(sa.func.max(plan.pk))).scalar() or 0, top)
        ids = range(highest + 1, highest + 1 + 100_000 * (round_number + 1))
    return ids, ids[-1]


def _reserve_together(session, tables) -> dict:
    """{table: ids} for a batch's first round on PostgreSQL: for each table, what ``_reserve_ids`` would draw
    (with some more headroom), from every sequence by one statement instead of one per table."""
    by_name = {table.name: table for table in tables}
    names = sorted(by_name)
    drawn = {}
    for name, new_id in session.execute(sa.text(
            "SELECT w.t, nextval(pg_get_serial_sequence(w.t, w.c)) FROM unnest(CAST(:tables AS text[]), "
            "CAST(:columns AS text[]), CAST(:counts AS integer[])) AS w(t, c, n), generate_series(1, w.n)"),
            {"tables": names, "columns": [by_name[name].primary_key.columns.values()[0].name for name in names],
             # Half as many again as last time: a batch that needs a few more rows needs no second round.
             "counts": [min(max(_LAST_NEED.get(by_name[name], 16) * 3 // 2, 16), 4096) for name in names]}):
        drawn.setdefault(name, []).append(new_id)
    return {by_name[name]: sorted(ids) for name, ids in drawn.items()}


_LAST_NEED = {}  # table: ids a batch of this process took from it last time (PostgreSQL)
_TOGETHER = {}  # table: the tables the last batch that began with it took ids from (PostgreSQL)


_INSERT_EVENTS = ("before_insert", "after_insert", "before_update", "after_update")


class _Plan:
    """How to write a mapped class's rows without the unit of work: its table, primary key, the attribute
    behind each column, Python-side defaults, and the many-to-one relationships whose foreign keys the
    unit of work would have filled in."""

    def __init__(self, mapper):
        self.mapper = mapper
        self.table = mapper.local_table
        self.pk = mapper.primary_key[0]
        self.pk_key = mapper.get_property_by_column(self.pk).key
        self.columns = {prop.key: prop.columns[0] for prop in mapper.column_attrs
                        if prop.columns[0].table is self.table}
        self.defaults = self._python_values("default")
        self.onupdates = self._python_values("onupdate")
        # {attribute key: the table it refers to} for foreign key columns that point at a table's own key
        self.references = {key: fk.column.table for key, column in self.columns.items()
                           for fk in column.foreign_keys if fk.column.primary_key}
        self.parents = {}
        for rel in mapper.relationships:
            if rel.direction is sa.orm.interfaces.MANYTOONE:
                self.parents[rel.key] = [(mapper.get_property_by_column(local).key,
                                          rel.mapper.get_property_by_column(remote).key,
                                          remote is rel.mapper.primary_key[0])
                                         for local, remote in rel.local_remote_pairs]

    def _python_values(self, hook_name):
        """{attribute key: make} for the columns whose ``default`` or ``onupdate`` is a Python value or
        function: ``make()`` gives the value the unit of work would have used."""
        values = {}
        for key, column in self.columns.items():
            hook = getattr(column, hook_name)
            if hook is not None and hook.is_scalar:
                values[key] = lambda arg=hook.arg: arg
            elif hook is not None and hook.is_callable:
                values[key] = lambda arg=hook.arg: arg(None)
        return values

    @staticmethod
    def usable(mapper):
        """Whether rows of ``mapper`` can be written this way: one table, one integer key the database
        numbers, no version counter, no defaults computed by SQL."""
        pk = mapper.primary_key
        return (mapper.inherits is None and mapper.polymorphic_on is None and mapper.version_id_col is None
                and isinstance(mapper.local_table, sa.Table) and len(pk) == 1
                and isinstance(pk[0].type, sa.Integer) and pk[0].autoincrement in (True, "auto")
                and not pk[0].foreign_keys
                and not any(hook is not None and not (hook.is_scalar or hook.is_callable)
                            for c in mapper.local_table.columns for hook in (c.default, c.onupdate)))


_plans = {}


class _Plans(dict):
    """The write plans of one batch, each kind looked up once (listeners added meanwhile count from the next)."""

    def __call__(self, mapper):
        if mapper not in self:
            self[mapper] = _plan_for(mapper)
        return self[mapper]


_FLUSH_ONLY = set()  # models whose writes are followed through the session's flush events


def written_by_flush(*models) -> None:
    """Have the flush write ``models``' rows, never a deferred batch's own statements: for models whose writes
    other code follows through the session's flush events (the settings stamps)."""
    _FLUSH_ONLY.update(models)


def _plan_for(mapper):
    """The write plan of ``mapper``, or None when its rows are the unit of work's to write: a kind of
    mapping this does not handle, a model with insert or update listeners (which only a flush runs), or one
    named by ``written_by_flush``."""
    if mapper.class_ in _FLUSH_ONLY:
        return None
    if mapper not in _plans:
        _plans[mapper] = _Plan(mapper) if _Plan.usable(mapper) else None
    if any(getattr(mapper.dispatch, name) for name in _INSERT_EVENTS):
        return None
    return _plans[mapper]


def batch_writable(model) -> bool:
    """Whether a deferred batch writes ``model``'s rows itself (else its flush does)."""
    return _plan_for(sa.inspect(model)) is not None


def write_rows(session, plans=None, detach=False, rows=None):
    """Write the session's new rows with one multi-row INSERT per table and set of columns, and its
    changed rows with one UPDATE per table and set of changed columns, then make those objects
    persistent and unchanged as a flush would have. What it cannot write the same way (other kinds of
    mapping, removed children, many-to-many links, SQL expressions, rows whose parent has no id) stays
    in the session for the flush that follows.

    ``detach``: when nothing stays for the flush, take the written objects out of the session instead of
    making them persistent (see ``Batch``); what the session held besides stays.

    ``rows``: {plan: [values]} of rows that have no object (``add_row``), inserted with the new objects of
    their tables. Returns those of them that must wait for the flush that follows (a parent of theirs is the
    flush's to write), as {plan: [values]}: the caller inserts them after it."""
    if isinstance(session, scoped_session):
        session = session()
    plans = _Plans() if plans is None else plans
    later = {}
    inserted = _insert_new(session, plans, rows or {}, later)
    if not detach:
        _settle(session, inserted)
        _settle(session, _update_changed(session, plans))  # after the new rows: a parent whose collection gained them
        return later
    written = {id(obj) for obj, _key, _pk in inserted}
    updated = _update_changed(session, plans, written)
    written.update(id(obj) for obj, _key, _pk in updated)
    left = session.deleted or any(id(obj) not in written for obj in session.new) or any(
        id(obj) not in written for obj in session.dirty if session.is_modified(obj, include_collections=True))
    if left:  # the flush that follows needs the written rows persistent
        _settle(session, inserted)
        _settle(session, updated)
        return later
    for obj, _key, _pk in inserted:
        sa.orm.make_transient(obj)  # out of the session as it was before it joined: no cascade to walk
    for obj, _key, _pk in updated:
        if obj in session:  # (a cascade from one expunged before may have taken it)
            session.expunge(obj)
    return later


def _settle(session, written):
    """What a flush does to the objects it wrote (identity key, attribute history committed), in public calls."""
    for obj, pk_key, pk in written:
        sa.orm.make_transient(obj)
        set_committed_value(obj, pk_key, pk)
        sa.orm.make_transient_to_detached(obj)
        session.add(obj)


def _table_order():
    if not _order:
        _order.update({table: position for position, table in enumerate(Model.metadata.sorted_tables)})
    return _order


_order = {}


def _insert_new(session, plans, plain, later):
    """Insert the new objects the batch writes, and the ``plain`` rows ({plan: [values]}); a plain row that
    refers to a row left for the flush goes to ``later`` instead."""
    waiting = {plan: [] for plan in plain}
    for obj in session.new:
        plan = plans(sa.inspect(obj).mapper)
        if plan is not None and getattr(obj, plan.pk_key) is not None:
            waiting.setdefault(plan, []).append(obj)
    order = _table_order()
    skipped = set()  # rows whose parent stays for the flush: their children stay too
    # (table, id) of the new rows not written (yet): what a plain row must not refer to
    waits = {(sa.inspect(obj).mapper.local_table, row_id(obj)) for obj in session.new} \
        if any(plan.references for plan in plain) else set()
    written = []
    for plan in sorted(waiting, key=lambda p: order.get(p.table, len(order))):
        rows = []
        for obj in sorted(waiting[plan], key=lambda o: getattr(o, plan.pk_key)):
            values = _new_values(plan, obj, skipped, plans)
            if values is None:
                skipped.add(obj)
            else:
                rows.append((obj, values))
                waits.discard((plan.table, values[plan.pk_key]))
        for values in plain.get(plan, ()):
            if any((table, values.get(key)) in waits for key, table in plan.references.items()):
                later.setdefault(plan, []).append(values)
                waits.add((plan.table, values[plan.pk_key]))
            else:
                rows.append((None, values))
        _execute_grouped(session, sa.insert(plan.table), plan, rows)
        for obj, values in rows:
            if obj is None:  # a plain row
                continue
            data = sa.inspect(obj).dict
            for key, value in values.items():  # the defaults and foreign keys the row got
                if key not in data:
                    set_committed_value(obj, key, value)
            written.append((obj, plan.pk_key, values[plan.pk_key]))
    return written


def _new_values(plan, obj, skipped, plans):
    """{attribute key: value} of a new row; None while a parent has no id or stays for the flush."""
    state = sa.inspect(obj)
    data = state.dict
    values = {key: data[key] for key in plan.columns if key in data}
    for key in plan.defaults:
        if key not in values:
            values[key] = plan.defaults[key]()
    for rel_key, pairs in plan.parents.items():
        if rel_key not in data:
            continue
        parent = data[rel_key]
        if parent is None:
            for local_key, _remote_key, _is_pk in pairs:
                values.setdefault(local_key, None)
            continue
        resolved = _parent_values(parent, pairs, skipped, plans)
        if resolved is None:
            return None
        values.update(resolved)
    return values


def _parent_values(parent, pairs, skipped, plans):
    """The foreign key values a child of ``parent`` carries; None if the parent is not written yet."""
    if parent in skipped:
        return None
    parent_state = sa.inspect(parent)
    identity = parent_state.identity
    if identity is None:
        if not parent_state.pending or plans(parent_state.mapper) is None:
            return None
        identity = parent_state.mapper.primary_key_from_instance(parent)
        if None in identity:
            return None
    return {local_key: identity[0] if is_pk else getattr(parent, remote_key)
            for local_key, remote_key, is_pk in pairs}


def _execute_grouped(session, statement, plan, rows):
    """Run ``statement`` (an INSERT of ``plan``'s table) once per set of keys among ``rows`` ((object, values)
    pairs), as an executemany; on PostgreSQL a set of several rows goes in one COPY instead."""
    groups = {}
    for _obj, values in rows:
        groups.setdefault(frozenset(values), []).append(values)
    copy = len(rows) >= COPY_FROM and session.get_bind().dialect.name == "postgresql"
    for keys, members in groups.items():
        if copy and len(members) >= COPY_FROM:
            _copy_rows(session, plan, sorted(keys), members)
            continue
        session.execute(statement, [{plan.columns[key].key: value for key, value in values.items()}
                                    for values in members])


# Rows of one table and shape from which PostgreSQL gets them by COPY rather than an executemany INSERT. psycopg
# sends an executemany as one Bind and Execute per row, with Python work for each: a 2,000-mail import's 16,000
# rows spent 0.8 s there; COPY sends them as one stream, encoded in psycopg's C code. Changed rows of one table
# and set of columns go, from as many, in one UPDATE from arrays (``_update_from_arrays``).
COPY_FROM = 8


def _bind_processors(dialect, columns):
    """Per column, what its type does to a value before the driver sends it (None: nothing), as a statement of
    SQLAlchemy's would; for the PostgreSQL paths that hand values to psycopg themselves."""
    return [dialect.type_descriptor(column.type).bind_processor(dialect) for column in columns]


def _copy_rows(session, plan, keys, members):
    """Insert ``members`` (values keyed by ``keys``) into ``plan``'s table with one COPY, in the session's
    transaction. Each value goes through its column type's bind processing first, as the INSERT would have
    sent it; columns not given get their server defaults, as they would there. A refusal (a duplicate key, a
    foreign key) is raised as SQLAlchemy raises it for an INSERT."""
    connection = session.connection()
    dialect = connection.dialect
    columns = [plan.columns[key] for key in keys]
    processors = _bind_processors(dialect, columns)
    quote = dialect.identifier_preparer
    statement = (f"COPY {quote.format_table(plan.table)} ({', '.join(quote.quote(c.name) for c in columns)}) "
                 "FROM STDIN")
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as stream:
            for values in members:
                stream.write_row([value if process is None else process(value)
                                  for value, process in zip((values[key] for key in keys), processors,
                                                            strict=True)])
    except dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc


def _update_changed(session, plans, written=None):
    """Write the changed rows; ``written``: ids (``id()``) of the new objects written but not yet settled."""
    groups = {}
    for obj in session.dirty:
        state = sa.inspect(obj)
        plan = plans(state.mapper)
        if plan is None or state.key is None or state.deleted:
            continue
        values = _changed_values(plan, state, plans, written or ())
        if values is not None:
            groups.setdefault((plan, frozenset(values)), []).append((obj, state.identity[0], values))
    written = []
    postgresql = session.get_bind().dialect.name == "postgresql"
    for (plan, keys), members in groups.items():
        if not keys:  # only collections that gained written children: nothing to send
            written.extend((obj, plan.pk_key, pk) for obj, pk, _values in members)
            continue
        if postgresql and len(members) >= COPY_FROM:
            _update_from_arrays(session, plan, sorted(keys), members)
        else:
            statement = sa.update(plan.table).where(plan.pk == sa.bindparam("_helpdesk_pk")).values(
                {plan.columns[key].key: sa.bindparam(plan.columns[key].key) for key in keys})
            session.execute(statement, [{"_helpdesk_pk": pk, **{plan.columns[key].key: value
                                                                for key, value in values.items()}}
                                        for _obj, pk, values in members])
        for obj, pk, values in members:
            for key in plan.onupdates:
                set_committed_value(obj, key, values[key])
            written.append((obj, plan.pk_key, pk))
    return written


def _update_from_arrays(session, plan, keys, members):
    """Update ``members`` ((object, id, values keyed by ``keys``)) of ``plan``'s table with one statement on
    PostgreSQL: ``UPDATE … FROM unnest(ids, column arrays)``, one array per column, instead of an executemany
    (which psycopg sends as a Bind and an Execute per row). Each value goes through its column type's bind
    processing first, as the UPDATE would have sent it, and each array is cast to its column's type."""
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer
    columns = [plan.columns[key] for key in keys]
    processors = _bind_processors(dialect, columns)
    table = quote.format_table(plan.table)
    names = [f"c{index}" for index in range(len(columns))]
    arrays = ", ".join(f"%s::{column.type.compile(dialect=dialect)}[]" for column in (plan.pk, *columns))
    assignments = ", ".join(f"{quote.quote(column.name)} = v.{name}"
                            for column, name in zip(columns, names, strict=True))
    # Names and types come from the mapped table, quoted by the dialect; every value goes as a parameter.
    statement = (f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v(pk, {', '.join(names)}) "  # noqa: S608
                 f"WHERE {table}.{quote.quote(plan.pk.name)} = v.pk")
    values = [[pk for _obj, pk, _values in members]]
    for key, process in zip(keys, processors, strict=True):
        values.append([member[key] if process is None else process(member[key]) for _obj, _pk, member in members])
    connection.exec_driver_sql(statement, tuple(values))


def _changed_values(plan, state, plans, written=()):
    """{attribute key: new value} for a modified object's changed columns ({} when it only gained written
    children); None if it has changes this cannot write (the flush will)."""
    values = {}
    for key in set(state.attrs.keys()) - state.unmodified:
        history = state.attrs[key].history  # what changed, without loading anything
        if key in plan.columns:
            if not (history.added or history.deleted):
                continue
            if key not in state.dict:
                return None
            value = state.dict[key]
            if isinstance(value, sa.sql.ClauseElement):
                return None
            values[key] = value
        elif key in plan.parents:
            if not (history.added or history.deleted):
                continue
            parent = state.dict.get(key)
            if parent is None:
                return None  # taken off its parent: maybe an orphan to delete, which is the flush's call
            resolved = _parent_values(parent, plan.parents[key], set(), plans)
            if resolved is None or (sa.inspect(parent).identity is None and id(parent) not in written):
                return None
            values.update(resolved)
        else:
            # A collection: fine if it only gained children that are written (their foreign key is
            # theirs to carry); anything else (a removed child, a many-to-many link) is the flush's.
            prop = state.mapper.attrs[key]
            if getattr(prop, "secondary", None) is not None or history.deleted:
                return None
            if any(sa.inspect(child).identity is None and id(child) not in written for child in history.added):
                return None
    if values:  # as the unit of work: onupdate columns change only with an UPDATE
        for key, make in plan.onupdates.items():
            if key not in values:
                values[key] = make()
    return values


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
