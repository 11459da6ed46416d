"""Every mapped model, written once by an ordinary flush and once by a deferred ``Batch`` (which writes rows
with Core executemany instead of the unit of work), gives the same row: the values set, the Python-side
defaults, the foreign keys of parents that were new in the same batch, and on a later change the same
onupdate columns. A model with insert or update listeners is left to the flush by the batch, so its
listeners run on both paths. Half the models go through a batch that detaches its objects instead of making
them persistent (the mail gateway's); on PostgreSQL each model's rows also go in by COPY. A row added by
``add_row`` (values, no object: the mail batch's audit and outbox rows) is the same row again. Runs on both
databases."""
import importlib
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from helpdesk import INSTALLED_PACKAGES, import_models
from helpdesk import db as kernel
from helpdesk.db import Batch, Model, add_row, batch_writable, ensure_ids, row_id, utcnow
from helpdesk.extensions import db

import_models([importlib.import_module(name) for name in INSTALLED_PACKAGES])  # every table the app has
MODELS = sorted(Model.registry.mappers, key=lambda m: m.class_.__name__)


@pytest.fixture
def app(app_factory):
    application = app_factory()
    with application.app_context():
        yield application
        db.session.remove()


def _type(column):
    kind = column.type
    return kind.impl if isinstance(kind, sa.types.TypeDecorator) else kind


def _value(column, n):
    """A value ``column`` accepts, different for each ``n``."""
    kind = _type(column)
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 3, 1, 12, 0, 0, tzinfo=utcnow().tzinfo) + timedelta(seconds=n, microseconds=n)
    if isinstance(kind, sa.Date):
        return date(2026, 3, 1) + timedelta(days=n)
    if isinstance(kind, sa.Boolean):
        return n % 2 == 0
    if isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, sa.JSON):
        return {"n": n, "list": [n, "x"]}
    if isinstance(kind, sa.LargeBinary):
        return f"bytes {n}".encode()
    if isinstance(kind, sa.Enum):
        return kind.enums[0]
    if isinstance(kind, sa.String):
        text = f"{column.name} {n}"
        if column.name in ("email", "reader") or column.name.endswith("_email"):
            text = f"{column.name}{n}@example.test"
        return text[-kind.length:] if kind.length else text
    raise AssertionError(f"no test value for {column} of type {kind!r}")


class Built:
    """A new object and what it was given: {column key: value} set directly, {column key: parent} by
    relationship."""

    def __init__(self, obj, values, parents):
        self.obj, self.values, self.parents = obj, values, parents


def _build(mapper, counter, depth=0) -> Built:
    """A new ``mapper`` object with every column set that has no default: plain columns with test values,
    foreign keys through the many-to-one relationship (with a new parent object) where there is one."""
    values, parents, relations = {}, {}, {}
    by_column = {}
    for rel in mapper.relationships:
        if rel.direction is sa.orm.interfaces.MANYTOONE and len(rel.local_remote_pairs) == 1:
            by_column.setdefault(rel.local_remote_pairs[0][0], rel)
    unique = _unique_columns(mapper.local_table)
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if (column.default is not None or column.server_default is not None) and column not in unique:
            continue  # the default is what is compared (a unique column gets a value: two rows are written)
        if column.primary_key and column.autoincrement in (True, "auto") and not column.foreign_keys \
                and isinstance(_type(column), sa.Integer) and len(mapper.primary_key) == 1 \
                and column.name != "weekday":
            continue
        if column.foreign_keys:
            rel = by_column.get(column)
            if rel is None and not column.nullable:  # a foreign key without a relationship: the parent's id
                parent = _build(_mapper_of(column), counter, depth + 1).obj
                db.session.add(parent)
                ensure_ids(db.session, parent)
                values[prop.key] = sa.inspect(parent).mapper.primary_key_from_instance(parent)[0]
                continue
            if rel is None or rel.key in relations or (column.nullable and depth > 0) \
                    or (rel.mapper is mapper and column.nullable):
                continue
            parent = _build(rel.mapper, counter, depth + 1)
            relations[rel.key] = parent.obj
            parents[prop.key] = parent.obj
            continue
        counter[0] += 1
        flag = isinstance(_type(column), sa.Boolean) and column in unique  # e.g. one default calendar at most
        values[prop.key] = False if flag else _value(column, counter[0])
    obj = mapper.class_(**values, **relations)
    return Built(obj, values, parents)


def _mapper_of(column):
    (key,) = column.foreign_keys
    return next(m for m in MODELS if m.local_table is key.column.table)


def _row(mapper, obj):
    table = mapper.local_table
    where = [column == value for column, value in zip(mapper.primary_key, mapper.primary_key_from_instance(obj),
                                                      strict=True)]
    return dict(db.session.execute(sa.select(table).where(*where)).mappings().one())


def _check_written(mapper, built, row):
    for key, value in built.values.items():
        column = mapper.attrs[key].columns[0]
        assert row[column.name] == value, f"{mapper.class_.__name__}.{key}"
    for key, parent in built.parents.items():
        column = mapper.attrs[key].columns[0]
        parent_mapper = sa.inspect(parent).mapper
        assert row[column.name] == parent_mapper.primary_key_from_instance(parent)[0], \
            f"{mapper.class_.__name__}.{key}: the parent's id"


def _unique_columns(table):
    return {c for constraint in table.constraints if isinstance(constraint, sa.UniqueConstraint)
            for c in constraint.columns} | {c for index in table.indexes if index.unique for c in index.columns}


def _compare_defaults(mapper, built, flushed, batched):
    """The columns neither object was given: the same default on both paths (timestamps: both set, close)."""
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column.primary_key or column.foreign_keys or column.default is None or prop.key in built.values:
            continue
        a, b = flushed[column.name], batched[column.name]
        if isinstance(a, datetime) or isinstance(b, datetime):
            assert a is not None and b is not None and abs(a - b) < timedelta(minutes=5), column
        else:
            assert a == b, f"{mapper.class_.__name__}.{prop.key}: {a!r} by a flush, {b!r} by the batch"


def _write_both_ways(mapper, counter, detach=False):
    by_flush = _build(mapper, counter)
    db.session.add(by_flush.obj)
    db.session.commit()
    with Batch(db.session, deferred=True, detach=detach):
        by_batch = _build(mapper, counter)
        db.session.add(by_batch.obj)
    if detach and all(batch_writable(type(obj)) for obj in (by_batch.obj, *by_batch.parents.values())):
        # The written objects left the session rather than being made persistent (a new one is transient again,
        # its key set); they keep what they hold.
        assert by_batch.obj not in db.session and sa.inspect(by_batch.obj).transient
        assert all(getattr(by_batch.obj, key) == value for key, value in by_batch.values.items())
    return by_flush, by_batch


def _detach(mapper):
    """Half the models (taking turns) are written by a batch that detaches its objects (``Batch(detach=True)``)."""
    return MODELS.index(mapper) % 2 == 1


def _changeable(mapper):
    """A plain column to change: not a key, not unique, not defaulted, preferring text."""
    unique = _unique_columns(mapper.local_table)
    candidates = [prop for prop in mapper.column_attrs
                  if not prop.columns[0].primary_key and not prop.columns[0].foreign_keys
                  and prop.columns[0] not in unique and prop.columns[0].default is None
                  and prop.columns[0].server_default is None]
    candidates.sort(key=lambda p: not isinstance(_type(p.columns[0]), sa.String))
    return candidates[0] if candidates else None


@pytest.mark.parametrize("mapper", MODELS, ids=lambda m: m.class_.__name__)
def test_a_row_written_by_the_batch_equals_one_written_by_a_flush(app, mapper):
    counter = [0]
    by_flush, by_batch = _write_both_ways(mapper, counter, detach=_detach(mapper))
    flushed, batched = _row(mapper, by_flush.obj), _row(mapper, by_batch.obj)
    _check_written(mapper, by_flush, flushed)
    _check_written(mapper, by_batch, batched)
    _compare_defaults(mapper, by_flush, flushed, batched)

    prop = _changeable(mapper)
    if prop is None:
        return
    column = prop.columns[0]
    counter[0] += 1000
    flush_obj = db.session.get(mapper.class_, mapper.primary_key_from_instance(by_flush.obj))
    setattr(flush_obj, prop.key, _value(column, counter[0]))
    try:
        db.session.commit()
    except Exception as refused:  # a model that refuses changes (an append-only ledger) refuses both ways
        db.session.rollback()
        with pytest.raises(type(refused)), Batch(db.session, deferred=True):
            batch_obj = db.session.get(mapper.class_, mapper.primary_key_from_instance(by_batch.obj))
            setattr(batch_obj, prop.key, _value(column, counter[0] + 1))
        return
    with Batch(db.session, deferred=True):
        batch_obj = db.session.get(mapper.class_, mapper.primary_key_from_instance(by_batch.obj))
        setattr(batch_obj, prop.key, _value(column, counter[0] + 1))
    flushed_after, batched_after = _row(mapper, by_flush.obj), _row(mapper, by_batch.obj)
    assert flushed_after[column.name] == _value(column, counter[0])
    assert batched_after[column.name] == _value(column, counter[0] + 1)
    for onupdate in (c for c in mapper.local_table.columns if c.onupdate is not None):
        assert flushed_after[onupdate.name] != flushed[onupdate.name], onupdate
        assert batched_after[onupdate.name] != batched[onupdate.name], onupdate


def _tables_written_by(monkeypatch, name):
    """From one row on (``COPY_FROM``), the tables whose rows the kernel's PostgreSQL path ``name`` writes."""
    monkeypatch.setattr(kernel, "COPY_FROM", 1)
    tables, write = [], getattr(kernel, name)

    def recording(session, plan, keys, members):
        tables.append(plan.table)
        return write(session, plan, keys, members)

    monkeypatch.setattr(kernel, name, recording)
    return tables


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("mapper", MODELS, ids=lambda m: m.class_.__name__)
def test_a_row_copied_in_by_the_batch_equals_one_written_by_a_flush(app, mapper, monkeypatch):
    """On PostgreSQL a batch sends several rows of one table and shape with COPY rather than an INSERT
    (``COPY_FROM`` of them; here from one row on): each column's value goes in as the INSERT sends it."""
    copied = _tables_written_by(monkeypatch, "_copy_rows")
    counter = [0]
    by_flush, by_batch = _write_both_ways(mapper, counter, detach=_detach(mapper))
    flushed, batched = _row(mapper, by_flush.obj), _row(mapper, by_batch.obj)
    _check_written(mapper, by_batch, batched)
    _compare_defaults(mapper, by_flush, flushed, batched)
    if all(batch_writable(type(obj)) for obj in (by_batch.obj, *by_batch.parents.values())):
        assert mapper.local_table in copied  # else the flush wrote it (and its children), as on SQLite


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("mapper", MODELS, ids=lambda m: m.class_.__name__)
def test_a_row_updated_by_the_batch_from_arrays_equals_one_updated_by_a_flush(app, mapper, monkeypatch):
    """On PostgreSQL a batch updates several rows of one table and set of columns with one ``UPDATE … FROM
    unnest(…)`` (from ``COPY_FROM`` rows; here from one): every plain column changed the same way on a flushed
    row and on a batched one reads back the same, whatever its type, and the onupdate columns move on both."""
    updated = _tables_written_by(monkeypatch, "_update_from_arrays")
    counter = [0]
    by_flush, by_batch = _write_both_ways(mapper, counter)
    unique = _unique_columns(mapper.local_table)
    props = [prop for prop in mapper.column_attrs
             if not prop.columns[0].primary_key and not prop.columns[0].foreign_keys
             and prop.columns[0] not in unique and prop.columns[0].table is mapper.local_table]
    if not props:
        pytest.skip(f"{mapper.class_.__name__} has no plain column to change")
    before = _row(mapper, by_batch.obj)

    def change(obj):
        for index, prop in enumerate(props):
            setattr(obj, prop.key, _value(prop.columns[0], 5000 + index))

    change(db.session.get(mapper.class_, mapper.primary_key_from_instance(by_flush.obj)))
    try:
        db.session.commit()
    except Exception:  # a model that refuses changes (an append-only ledger, a check): the other test's case
        db.session.rollback()
        pytest.skip(f"{mapper.class_.__name__} refuses this change")
    with Batch(db.session, deferred=True):
        change(db.session.get(mapper.class_, mapper.primary_key_from_instance(by_batch.obj)))
    flushed_after, batched_after = _row(mapper, by_flush.obj), _row(mapper, by_batch.obj)

    for prop in props:
        name = prop.columns[0].name
        assert batched_after[name] == flushed_after[name] == _value(prop.columns[0], 5000 + props.index(prop)), name
    for onupdate in (c for c in mapper.local_table.columns if c.onupdate is not None):
        assert batched_after[onupdate.name] != before[onupdate.name], onupdate
    if batch_writable(mapper.class_):
        assert mapper.local_table in updated  # else the flush wrote the change


def _as_values(built):
    """What ``add_row`` takes for a built object: its values, and its parents (added to the session) as ids."""
    values = dict(built.values)
    mapper = sa.inspect(built.obj).mapper
    for rel in mapper.relationships:  # the object itself is not written: off its parents' collections
        if rel.direction is sa.orm.interfaces.MANYTOONE and getattr(built.obj, rel.key) is not None:
            setattr(built.obj, rel.key, None)
    for key, parent in built.parents.items():
        db.session.add(parent)
        ensure_ids(db.session, parent)  # in a deferred batch a parent the batch writes has its id already
        values[key] = row_id(parent)
    return values


@pytest.mark.parametrize("mapper", MODELS, ids=lambda m: m.class_.__name__)
def test_a_row_added_as_values_equals_one_written_by_a_flush(app, mapper):
    counter = [0]
    by_flush = _build(mapper, counter)
    flush_values = _as_values(by_flush)
    flush_obj = add_row(db.session, mapper.class_, **flush_values)
    assert isinstance(flush_obj, mapper.class_)  # outside a deferred batch: an object in the session
    db.session.commit()
    with Batch(db.session, deferred=True, detach=_detach(mapper)):
        by_batch = _build(mapper, counter)
        batch_values = _as_values(by_batch)
        added = add_row(db.session, mapper.class_, **batch_values)
        if batch_writable(mapper.class_):
            assert isinstance(added, int)  # no object made: the batch writes the values, under this id
        else:  # a model the batch leaves to the flush (its listeners run): an object, written by the flush
            assert isinstance(added, mapper.class_)
    key = (row_id(added),) if len(mapper.primary_key) == 1 else mapper.primary_key_from_instance(added)
    flushed = _row(mapper, flush_obj)
    batched = dict(db.session.execute(sa.select(mapper.local_table).where(
        *[column == value for column, value in zip(mapper.primary_key, key, strict=True)])).mappings().one())
    _check_written(mapper, Built(None, flush_values, {}), flushed)
    _check_written(mapper, Built(None, batch_values, {}), batched)
    _compare_defaults(mapper, Built(None, flush_values, {}), flushed, batched)


def test_a_row_added_as_values_is_left_to_the_flush_when_its_model_has_a_listener(app):
    from helpdesk.audit.models import AuditEvent

    calls = []

    def listener(_mapper, _connection, target):
        calls.append(target)

    sa.event.listen(AuditEvent, "before_insert", listener)
    try:
        with Batch(db.session, deferred=True):
            added = add_row(db.session, AuditEvent, actor_label="someone", entity="ticket", entity_id=7,
                            action="viewed", created_at=utcnow())
            assert isinstance(added, AuditEvent)
    finally:
        sa.event.remove(AuditEvent, "before_insert", listener)
    assert calls == [added]
    assert db.session.get(AuditEvent, added.id).action == "viewed"


def test_the_batch_writes_the_mail_gateways_rows_itself():
    """The fast path is worth having only if the rows a mail batch adds go through it."""
    from helpdesk.accounts.models import User
    from helpdesk.audit.models import AuditEvent
    from helpdesk.mailgateway.models import InboundMessage
    from helpdesk.notify.models import OutboxEmail
    from helpdesk.tickets.models import Attachment, Message, Participant, Ticket

    for model in (Ticket, Message, Participant, Attachment, User, AuditEvent, OutboxEmail, InboundMessage):
        assert batch_writable(model), model


# Every model with one of the two insert events, taking turns (the batch refuses a model whatever the event:
# each event is tried on half the models); on one database: whether a listener runs is the ORM's business,
# and the rows both paths write are compared on both databases above.
@pytest.mark.backends("sqlite")
@pytest.mark.parametrize(("mapper", "event"), [(m, ("before_insert", "after_insert")[n % 2])
                                               for n, m in enumerate(MODELS)],
                         ids=lambda p: p.class_.__name__ if hasattr(p, "class_") else p)
def test_a_models_insert_listener_runs_on_the_batch_path_too(app, mapper, event):
    calls = []

    def listener(_mapper, _connection, target):
        calls.append(target)

    sa.event.listen(mapper, event, listener)
    try:
        assert not batch_writable(mapper.class_)  # the batch refuses it: its flush writes it
        by_flush, by_batch = _write_both_ways(mapper, [0], detach=_detach(mapper))
    finally:
        sa.event.remove(mapper, event, listener)
    assert by_flush.obj in calls and by_batch.obj in calls
    _check_written(mapper, by_batch, _row(mapper, by_batch.obj))


@pytest.mark.parametrize("event", ["before_update", "after_update"])
def test_an_update_listener_runs_on_the_batch_path_too(app, event):
    from helpdesk.tickets.models import Ticket

    mapper = sa.inspect(Ticket)
    _by_flush, by_batch = _write_both_ways(mapper, [0])
    calls = []

    def listener(_mapper, _connection, target):
        calls.append(target.subject)

    sa.event.listen(Ticket, event, listener)
    try:
        with Batch(db.session, deferred=True):
            ticket = db.session.get(Ticket, by_batch.obj.id)
            ticket.subject = "Changed in a batch"
    finally:
        sa.event.remove(Ticket, event, listener)
    assert calls == ["Changed in a batch"]
    assert batch_writable(Ticket)
