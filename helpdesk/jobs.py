"""Background jobs. Services call ``enqueue_after_commit``; the jobs run only once the transaction
has committed: on rq workers when REDIS_URL is set, in-process right after the commit otherwise.
Jobs take ids, look everything up again, and must be idempotent."""
import importlib
import logging
import threading

from flask import after_this_request, current_app, g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from helpdesk.extensions import db

log = logging.getLogger(__name__)
_PENDING = "helpdesk_pending_jobs"
_bound_app = None


def bind_app(app):
    """Tell job execution which app to run in (a worker process has no app context of its own)."""
    global _bound_app
    _bound_app = app


def enqueue_after_commit(task: str, *args, queue: str = "default"):
    """Run ``task`` (a dotted path to a function) with ``args`` once the current transaction commits.
    Nothing runs if it rolls back. A mapped object among ``args`` is passed as its primary key, so a
    row added in this transaction need not be flushed just to learn its id."""
    db.session.info.setdefault(_PENDING, []).append((queue, task, args, False))


def enqueue_after_commit_batched(task: str, arg, queue: str = "default"):
    """Like ``enqueue_after_commit``, but every ``arg`` given for ``task`` in one transaction goes to a
    single call ``task(*args)`` after the commit (e.g. one search-index write for a whole mail batch)."""
    db.session.info.setdefault(_PENDING, []).append((queue, task, (arg,), True))


def _as_ids(args):
    return tuple(sa_inspect(a).identity[0] if hasattr(a, "__mapper__") else a for a in args)


def enqueue(task: str, *args, queue: str = "default"):
    """Run ``task`` now: on rq when configured, otherwise in this process."""
    app = current_app._get_current_object()
    _dispatch(app, [(queue, task, args)])


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    # SQLAlchemy also fires this when a SAVEPOINT is released; only the real commit may dispatch.
    if session.in_nested_transaction():
        return
    jobs = session.info.pop(_PENDING, None)
    if jobs and has_app_context():
        _dispatch(current_app._get_current_object(), _coalesce(jobs))


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


def pending_mark() -> int:
    """A mark to pass to ``discard_since`` when the work after it is rolled back to a savepoint."""
    return len(db.session.info.get(_PENDING, ()))


def discard_since(mark: int):
    """Forget jobs queued after ``mark`` (their savepoint was rolled back, so their rows are gone)."""
    pending = db.session.info.get(_PENDING)
    if pending is not None:
        del pending[mark:]


def _dispatch(app, jobs):
    if app.config.get("REDIS_URL"):
        by_queue = {}
        for queue, task, args in jobs:
            by_queue.setdefault(queue, []).append((task, args))
        for queue, items in by_queue.items():
            try:
                rq_queue = get_queue(app, queue)
                # One round trip for the whole commit's jobs.
                with rq_queue.connection.pipeline() as pipe:
                    rq_queue.enqueue_many([rq_queue.prepare_data(run_task, (task, *args)) for task, args in items],
                                          pipeline=pipe)
                    pipe.execute()
            except Exception:  # Redis down: the work is recorded in the database; a sweep re-enqueues it.
                log.exception("could not enqueue %d job(s) on %s; they stay pending for the next sweep",
                              len(items), queue)
        return
    if app.config.get("JOBS_INPROCESS") != "sync" and has_request_context():
        # Run once the response has been sent: the person gets their answer without waiting for SMTP,
        # and a reset request takes as long for a registered address as for an unknown one.
        _after_response(app, jobs)
        return
    for _queue, task, args in jobs:
        _run_logged(app, task, args)


def _run_logged(app, task, args):
    try:
        run_task(task, *args, app=app)
    except Exception:  # The caller's transaction already committed; a failed job must not undo its answer.
        log.exception("in-process job %s%r failed", task, args)


def _after_response(app, jobs):
    pending = g.setdefault("helpdesk_after_response", [])
    if not pending:
        @after_this_request
        def _schedule(response):
            queued = list(g.get("helpdesk_after_response", ()))
            response.call_on_close(lambda: [_run_logged(app, task, args) for _q, task, args in queued])
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


def resolve(task: str):
    module, _, func = task.rpartition(".")
    return getattr(importlib.import_module(module), func)


def run_task(task: str, *args, app=None):
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

    def __init__(self, app, task: str, interval: float):
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
