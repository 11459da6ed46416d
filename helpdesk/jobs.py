"""Background jobs. Services call ``enqueue_after_commit``; the jobs run only once the transaction
has committed: on rq workers when REDIS_URL is set, in-process right after the commit otherwise.
Jobs take ids, look everything up again, and must be idempotent.

Every job is also written as a ``pending_jobs`` row in the transaction that asks for it, and the row is
deleted when the job has run. A process that dies between the commit and the job, or a Redis outage,
leaves the row behind, and ``sweep_pending`` (run by workers and ``helpdesk serve`` every
OUTBOX_SWEEP_INTERVAL seconds) runs it again: side effects are delayed, never lost."""
import importlib
import logging
import threading
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from flask import after_this_request, current_app, g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from helpdesk.db import UTCDateTime, row_id, utcnow
from helpdesk.extensions import db

log = logging.getLogger(__name__)
_PENDING = "helpdesk_pending_jobs"
_bound_app = None


_DURABLE = "helpdesk_durable_jobs"
_BATCHED = set()  # tasks asked for with enqueue_after_commit_batched: one call takes many arguments
_held = threading.local()
HELD_CHUNK = 1000  # arguments per call of a batched task when held jobs run


class PendingJob(db.Model):
    """A job asked for in a committed transaction that has not finished yet."""

    __tablename__ = "pending_jobs"
    id = sa.Column(sa.Integer, primary_key=True)
    queue = sa.Column(sa.String(40), nullable=False)
    task = sa.Column(sa.String(200), nullable=False)
    args = sa.Column(sa.JSON, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, index=True)
    # When it was last handed to a queue (NULL: handing it over failed; the next sweep does it).
    dispatched_at = sa.Column(UTCDateTime, index=True)


def bind_app(app):
    """Tell job execution which app to run in (a worker process has no app context of its own)."""
    global _bound_app
    _bound_app = app


def task_path(task) -> str:
    """The dotted path a job is stored under (in ``pending_jobs`` and on rq). Callers pass the function
    itself, so the dependency is an import that import-linter sees; the path is what outlives a release."""
    if callable(task):
        return f"{task.__module__}.{task.__qualname__}"
    return task


def enqueue_after_commit(task, *args, queue: str = "default"):
    """Run ``task`` (a function) with ``args`` once the current transaction commits. Nothing runs if it
    rolls back. A mapped object among ``args`` is passed as its primary key, so a row added in this
    transaction need not be flushed just to learn its id."""
    db.session.info.setdefault(_PENDING, []).append((queue, task_path(task), args, False))


def enqueue_after_commit_batched(task, arg, queue: str = "default"):
    """Like ``enqueue_after_commit``, but every ``arg`` given for ``task`` in one transaction goes to a
    single call ``task(*args)`` after the commit (e.g. one search-index write for a whole mail batch)."""
    task = task_path(task)
    _BATCHED.add(task)
    db.session.info.setdefault(_PENDING, []).append((queue, task, (arg,), True))


class Followers:
    """Tasks other packages ask to run after each commit, batched, with the rows of one kind that the
    transaction changed: the package that changes the rows need not import the ones that follow them (the
    search package follows tickets and articles; tickets do not know search exists)."""

    def __init__(self, what: str):
        self.what = what
        self._tasks = []

    def follow(self, task, queue: str = "default"):
        """Have ``task`` (a batched job) run after each commit with the ids of the changed rows."""
        entry = (task_path(task), queue)
        if entry not in self._tasks:
            self._tasks.append(entry)

    def changed(self, row):
        """``row`` (a mapped object or its id) changed in this transaction."""
        for task, queue in self._tasks:
            enqueue_after_commit_batched(task, row, queue=queue)


def _as_ids(args):
    return tuple(row_id(a) if hasattr(a, "__mapper__") else a for a in args)


def enqueue(task, *args, queue: str = "default"):
    """Run ``task`` (a function) now: on rq when configured, otherwise in this process."""
    app = current_app._get_current_object()
    _dispatch(app, [(queue, task_path(task), args, None)])  # no pending row: the caller is the one who waits


@event.listens_for(Session, "before_commit")
def _before_commit(session):
    # The jobs become rows of the transaction that asked for them: they commit (or roll back) with it.
    if session.in_nested_transaction() or not session.info.get(_PENDING) or not has_app_context():
        return
    if any(hasattr(a, "__mapper__") and row_id(a) is None for _q, _t, args, _b in session.info[_PENDING] for a in args):
        session.flush()  # what commit would do next anyway: the new rows get the ids the jobs take
    jobs = _coalesce(session.info.pop(_PENDING))
    now = utcnow()
    rows = [{"queue": queue, "task": task, "args": list(args), "created_at": now, "dispatched_at": now}
            for queue, task, args in jobs]
    ids = session.execute(sa.insert(PendingJob).returning(PendingJob.id, sort_by_parameter_order=True),
                          rows).scalars().all()
    session.info[_DURABLE] = [(queue, task, args, job_id) for (queue, task, args), job_id in zip(jobs, ids,
                                                                                                 strict=True)]


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    # SQLAlchemy also fires this when a SAVEPOINT is released; only the real commit may dispatch.
    if session.in_nested_transaction():
        return
    jobs = session.info.pop(_DURABLE, None)
    if jobs and has_app_context():
        _dispatch(current_app._get_current_object(), jobs)


def _coalesce(jobs):
    """Jobs are idempotent, so one asked for twice in a commit runs once; batched ones become one call
    with all their arguments, placed where the first of them was asked for."""
    result, batched = [], {}
    for queue, task, args, is_batched in jobs:
        args = _as_ids(args)
        if not is_batched:
            result.append((queue, task, args))
        elif (queue, task) in batched:
            batched[(queue, task)].extend(args)
        else:
            batched[(queue, task)] = list(args)
            result.append((queue, task, batched[(queue, task)]))
    return list(dict.fromkeys((q, task, tuple(dict.fromkeys(args))) for q, task, args in result))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    # A rolled-back SAVEPOINT leaves the outer transaction's jobs alone (see ``discard_since``).
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)
        session.info.pop(_DURABLE, None)


def pending_mark() -> int:
    """A mark to pass to ``discard_since`` when the work after it is rolled back to a savepoint."""
    return len(db.session.info.get(_PENDING, ()))


def discard_since(mark: int):
    """Forget jobs queued after ``mark`` (their savepoint was rolled back, so their rows are gone)."""
    pending = db.session.info.get(_PENDING)
    if pending is not None:
        del pending[mark:]


@contextmanager
def held(elsewhere=None):
    """Hold the in-process jobs of every commit in this block and run them when it ends, batched tasks as
    one call: a command that commits batch after batch (``helpdesk mail ingest``) then writes the search
    index once and delivers its mail through one SMTP session. The jobs are ``pending_jobs`` rows
    meanwhile, so a crash delays them (the sweep runs them) and loses nothing. With Redis, jobs go to the
    workers as usual.

    ``elsewhere(task, args)`` may run a job in another process and return a Future: then the first task
    runs here and the others there, at the same time (jobs take ids and look everything up again, so
    where they run does not matter)."""
    outer = getattr(_held, "jobs", None)
    if outer is not None:
        yield
        return
    _held.jobs = []
    try:
        yield
    except BaseException as exc:
        jobs, _held.jobs = _held.jobs, None
        if jobs and isinstance(exc, Exception):  # what committed before the error still gets its jobs
            _run_held(current_app._get_current_object(), jobs, elsewhere)
        raise
    jobs, _held.jobs = _held.jobs, None
    if jobs:
        _run_held(current_app._get_current_object(), jobs, elsewhere)


def _run_held(app, jobs, elsewhere=None):
    """Run held (queue, task, args, job id) jobs; each batched task once, with every argument."""
    merged, order = {}, []
    for _queue, task, args, job_id in jobs:
        key = task if task in _BATCHED else (task, tuple(args), job_id)
        if key not in merged:
            merged[key] = (task, [], [])
            order.append(key)
        merged[key][1].extend(args)
        merged[key][2].append(job_id)
    calls = []
    for key in order:
        task, args, job_ids = merged[key]
        chunks = [args]
        if task in _BATCHED:
            args = list(dict.fromkeys(args))
            chunks = [args[start:start + HELD_CHUNK] for start in range(0, len(args), HELD_CHUNK)]
        calls.append((task, chunks, [job_id for job_id in job_ids if job_id is not None]))
    away = []
    if elsewhere is not None and len(calls) > 1:
        # The first task runs here, the others in the other process, in calls of the size each task asks for
        # when shared (``held_share``: deliveries go in small ones, an index write in as few as it can).
        away = [(task, [(chunk, elsewhere(task, chunk)) for chunk in _shares(task, chunks)], job_ids)
                for task, chunks, job_ids in calls[1:]]
        calls = calls[:1]
    for task, chunks, job_ids in calls:
        _settle_held(app, task, job_ids, lambda chunks=chunks, task=task: [run_task(task, *chunk, app=app)
                                                                          for chunk in chunks])
    # Done here first: take back the calls the other process has not started yet, the last ones first, so the
    # two end at about the same time (jobs look everything up again: where one runs does not matter).
    taken = {id(future) for _task, parts, _ids in reversed(away) for _chunk, future in reversed(parts)
             if future.cancel()}
    for task, parts, job_ids in away:
        _settle_held(app, task, job_ids, lambda parts=parts, task=task: (
            [run_task(task, *chunk, app=app) for chunk, future in parts if id(future) in taken]
            + [future.result() for _chunk, future in parts if id(future) not in taken]))


def _shares(task, chunks):
    """``chunks`` of a batched task cut to the size it asks for when held jobs are shared between processes (its
    ``held_share`` attribute); as they are for a task that says nothing."""
    size = getattr(resolve(task), "held_share", None) if task in _BATCHED else None
    if not size:
        return chunks
    return [chunk[start:start + size] for chunk in chunks for start in range(0, len(chunk), size)]


def _settle_held(app, task, job_ids, run):
    try:
        run()
    except Exception:  # the rows stay: the sweep runs the job again
        log.exception("held job %s failed; it stays pending", task)
        return
    _forget(app, job_ids)


def _forget(app, job_ids):
    if not job_ids:
        return
    with app.app_context():
        try:
            db.session.execute(sa.delete(PendingJob).where(PendingJob.id.in_(job_ids)))
            db.session.commit()
        finally:
            db.session.remove()


def _dispatch(app, jobs):
    """Hand over (queue, task, args, pending job id) jobs: to rq, or run them in this process."""
    if app.config.get("REDIS_URL"):
        by_queue = {}
        for queue, task, args, job_id in jobs:
            by_queue.setdefault(queue, []).append((task, args, job_id))
        for queue, items in by_queue.items():
            try:
                rq_queue = get_queue(app, queue)
                # One round trip for the whole commit's jobs.
                with rq_queue.connection.pipeline() as pipe:
                    rq_queue.enqueue_many([rq_queue.prepare_data(run_pending, (job_id, task, *args))
                                           for task, args, job_id in items], pipeline=pipe)
                    pipe.execute()
            except Exception:  # Redis down: the rows stay, and the next sweep hands them over again.
                log.warning("could not enqueue %d job(s) on %s; they stay pending for the next sweep",
                            len(items), queue)
                _undispatched(app, [job_id for _task, _args, job_id in items])
        return
    if getattr(_held, "jobs", None) is not None:
        _held.jobs.extend(jobs)
        return
    if app.config.get("JOBS_INPROCESS") != "sync" and has_request_context():
        # Run once the response has been sent: the person gets their answer without waiting for SMTP,
        # and a reset request takes as long for a registered address as for an unknown one.
        _after_response(app, jobs)
        return
    for _queue, task, args, job_id in jobs:
        _run_logged(app, task, args, job_id)


def _undispatched(app, job_ids):
    try:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.update(PendingJob).where(PendingJob.id.in_(job_ids)).values(dispatched_at=None))
    except Exception:  # the rows are still there; the sweep finds them after JOBS_REDISPATCH_SECONDS
        log.warning("could not mark %d job(s) for the next sweep", len(job_ids))


def _run_logged(app, task, args, job_id=None):
    try:
        run_pending(job_id, task, *args, app=app)
    except Exception:  # The caller's transaction already committed; a failed job must not undo its answer.
        log.exception("in-process job %s%r failed", task, args)


def run_pending(job_id, task: str, *args, app=None):
    """Run a job that has a ``pending_jobs`` row, then delete the row (what rq calls). A job that raises
    keeps its row: the sweep runs it again later."""
    result = run_task(task, *args, app=app)
    if job_id is not None:
        app = app or _bound_app or current_app._get_current_object()
        with app.app_context():
            try:
                db.session.execute(sa.delete(PendingJob).where(PendingJob.id == job_id))
                db.session.commit()
            finally:
                db.session.remove()
    return result


def sweep_pending():
    """Hand over again the jobs whose process died or whose queue was down: rows never handed over, or
    handed over more than JOBS_REDISPATCH_SECONDS ago and still not done. Returns how many."""
    app = current_app._get_current_object()
    now = utcnow()
    stale = now - timedelta(seconds=app.config["JOBS_REDISPATCH_SECONDS"])
    rows = db.session.execute(
        sa.select(PendingJob.id, PendingJob.queue, PendingJob.task, PendingJob.args)
        .where(sa.or_(PendingJob.dispatched_at.is_(None), PendingJob.dispatched_at < stale))
        .order_by(PendingJob.id).limit(1000)
    ).all()
    if not rows:
        return 0
    db.session.execute(sa.update(PendingJob).where(PendingJob.id.in_([r.id for r in rows]))
                       .values(dispatched_at=now))
    db.session.commit()
    _dispatch(app, [(r.queue, r.task, tuple(r.args), r.id) for r in rows])
    return len(rows)


def pending_status(task_prefix=""):
    """(count, oldest created_at or None) of the jobs not done yet whose task starts with ``task_prefix``."""
    query = sa.select(sa.func.count(), sa.func.min(PendingJob.created_at))
    if task_prefix:
        query = query.where(PendingJob.task.startswith(task_prefix))
    count, oldest = db.session.execute(query).one()
    return count, oldest


def _after_response(app, jobs):
    pending = g.setdefault("helpdesk_after_response", [])
    if not pending:
        @after_this_request
        def _schedule(response):
            queued = list(g.get("helpdesk_after_response", ()))
            response.call_on_close(lambda: [_run_logged(app, task, args, job_id)
                                            for _q, task, args, job_id in queued])
            return response

    pending.extend(jobs)


def queue_name(app, name: str) -> str:
    return f"{app.config['QUEUE_PREFIX']}-{name}"


def redis_connection(app):
    from redis import Redis

    conn = app.extensions.get("helpdesk_redis")
    if conn is None:
        conn = app.extensions["helpdesk_redis"] = Redis.from_url(app.config["REDIS_URL"])
    return conn


def get_queue(app, name: str):
    from rq import Queue

    return Queue(queue_name(app, name), connection=redis_connection(app))


def resolve(task):
    if callable(task):
        return task
    module, _, func = task.rpartition(".")
    return getattr(importlib.import_module(module), func)


def run_task(task, *args, app=None):
    """Run one job in a fresh app context and session (this is what rq calls)."""
    app = app or _bound_app or (current_app._get_current_object() if has_app_context() else None)
    if app is None:
        raise RuntimeError("no application bound for jobs; start workers with `helpdesk worker`")
    with app.app_context():
        try:
            return resolve(task)(*args)
        finally:
            db.session.remove()


class Periodic(threading.Thread):
    """Calls ``task`` at start and then every ``interval`` seconds in its own app context until stopped
    (at start: that is when work left by a crash is waiting)."""

    def __init__(self, app, task, interval: float):
        task = task_path(task)
        super().__init__(name=f"periodic:{task}", daemon=True)
        self.app, self.task, self.interval = app, task, interval
        self._stop_event = threading.Event()

    def run(self):
        while True:
            try:
                run_task(self.task, app=self.app)
            except Exception:
                log.exception("periodic task %s failed", self.task)
            if self._stop_event.wait(self.interval):
                return

    def stop(self):
        self._stop_event.set()


def run_worker(app, queues, periodic=(), burst=False):
    """Serve rq ``queues`` (short names) in this process, with ``periodic`` (task, interval) threads."""
    from rq import SimpleWorker

    bind_app(app)
    threads = [Periodic(app, task, interval) for task, interval in periodic]
    for thread in threads:
        thread.start()
    try:
        # SimpleWorker runs jobs in this process: no fork, so the database pool is never shared.
        worker = SimpleWorker([get_queue(app, q) for q in queues], connection=redis_connection(app))
        return worker.work(burst=burst, with_scheduler=False)
    finally:
        for thread in threads:
            thread.stop()
