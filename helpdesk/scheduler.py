"""Periodic jobs that run once per period, however many schedulers tick: each period of a job is claimed by
inserting a ``scheduler_runs`` row, unique per (job, period), in a transaction of its own, and the claim's
commit hands the task over through the pending-job machinery (``helpdesk.jobs``): on rq with Redis, in this
process without. A crash after the claim loses nothing (the pending row stays and the sweep runs it).

The rules, where the issue left them open:
- A daily job's period is a date in BUSINESS_TIMEZONE; it is due once the local time passes its hour. After
  an outage the missed days run one by one, oldest first, at most SCHEDULER_CATCH_UP_DAYS of them. A job
  that never ran starts with the latest due day (installing the helpdesk does not bill last week).
- A job has one run outstanding at a time, so days run in order even on several rq workers.
- A failed run keeps its row with the error; the next tick claims the same period again (``attempts`` counts)
  and later periods wait until it succeeds: a billing day is never skipped.
- One scheduler process leads (a PostgreSQL advisory lock, held on a connection of its own); the unique row
  alone keeps a period to one run, so on SQLite (one machine) every scheduler simply ticks.

A task is given the period as a string: "2026-12-03" for a daily job, "2026-12-03T14:30Z" for one that runs
every N minutes (the UTC start of the interval). Tasks must be idempotent per period."""
import logging
import threading
import traceback
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from helpdesk.db import UTCDateTime, begin_write, utcnow
from helpdesk.extensions import db
from helpdesk.jobs import enqueue_after_commit, resolve

log = logging.getLogger(__name__)

# The task of the daily billing run (renewal invoices, reminders, suspensions). A path, not an import: the
# shared kernel never imports a domain package; it is resolved when the job runs.
BILLING_DAILY_TASK = "helpdesk.billing.renewals.run_day_task"
# The daily job that deletes ID documents past their retention (issue 18).
IDENTITY_RETENTION_TASK = "helpdesk.accounts.verification.delete_expired_documents_task"
# The advisory lock the leading scheduler holds (any constant; the lock is per database).
LEADER_LOCK_KEY = zlib.crc32(b"helpdesk.scheduler.leader")


class SchedulerRun(db.Model):
    """One period of one periodic job, claimed by the scheduler that inserted it."""

    __tablename__ = "scheduler_runs"
    __table_args__ = (sa.UniqueConstraint("job", "period"),)

    id = sa.Column(sa.Integer, primary_key=True)
    job = sa.Column(sa.String(80), nullable=False)
    period = sa.Column(sa.String(40), nullable=False)  # sorts in time order within a job
    claimed_at = sa.Column(UTCDateTime, nullable=False)
    finished_at = sa.Column(UTCDateTime)
    error = sa.Column(sa.Text)  # the last failure; the next tick claims the period again
    attempts = sa.Column(sa.Integer, nullable=False, default=1)


@dataclass(frozen=True)
class Job:
    """A periodic job: ``task`` (a dotted path) runs daily at ``daily_at`` (local time in BUSINESS_TIMEZONE)
    or every ``every_minutes`` minutes."""

    name: str
    task: str
    daily_at: time | None = None
    every_minutes: int | None = None

    def due_periods(self, now: datetime, zone, last: str | None, catch_up_days: int) -> list[str]:
        """The periods due at ``now`` after ``last`` (the newest claimed), oldest first."""
        if self.daily_at is not None:
            local = now.astimezone(zone)
            latest = local.date() if local.time() >= self.daily_at else local.date() - timedelta(days=1)
            first = latest if last is None else max(date.fromisoformat(last) + timedelta(days=1),
                                                    latest - timedelta(days=max(catch_up_days, 1) - 1))
            return [(first + timedelta(days=n)).isoformat() for n in range((latest - first).days + 1)]
        minutes = int(now.astimezone(UTC).timestamp() // 60)
        start = datetime.fromtimestamp((minutes - minutes % self.every_minutes) * 60, UTC)
        period = start.strftime("%Y-%m-%dT%H:%MZ")
        return [period] if last is None or period > last else []


_registered: dict[str, Job] = {}
_factories: dict[str, object] = {}


def register(job: Job) -> None:
    """Add a periodic job (a package's ``init_app`` may call this); a job of the same name is replaced."""
    _registered[job.name] = job


def register_when(name: str, make) -> None:
    """Add a periodic job that the settings switch on and shape: ``make(config)`` returns its Job, or None when
    the settings switch it off. It is asked whenever the jobs are listed, so each app (a process may build
    several, as the tests do) gets the job its own settings ask for."""
    _factories[name] = make


def parse_time_of_day(value: str) -> time:
    """"03:00" as a time; ValueError otherwise."""
    hours, _, minutes = (value or "").strip().partition(":")
    return time(int(hours), int(minutes or 0))


def registered_jobs(config) -> list[Job]:
    """The jobs this installation runs: the built-in ones its settings switch on, then registered ones."""
    jobs = {}
    if config.get("BILLING_DAILY_RUN_AT"):
        jobs["billing.daily"] = Job("billing.daily", BILLING_DAILY_TASK,
                                    daily_at=parse_time_of_day(config["BILLING_DAILY_RUN_AT"]))
    # Whatever IDENTITY_VERIFICATION says: documents uploaded before it was switched off are deleted all the same.
    if config.get("IDENTITY_DOCUMENT_RETENTION_RUN_AT"):
        jobs["identity.retention"] = Job("identity.retention", IDENTITY_RETENTION_TASK,
                                         daily_at=parse_time_of_day(config["IDENTITY_DOCUMENT_RETENTION_RUN_AT"]))
    jobs.update(_registered)
    for name, make in _factories.items():
        job = make(config)
        if job is not None:
            jobs[name] = job
    return list(jobs.values())


# --------------------------------------------------------------------------- ticking

def tick(now: datetime | None = None, jobs=None) -> list[tuple[str, str]]:
    """Claim and start every period due at ``now`` (default: the clock) that no scheduler has claimed yet,
    and retry failed ones. Returns the (job, period) pairs this call claimed. Safe to call from any number
    of processes at once."""
    app = current_app._get_current_object()
    now = now or utcnow()
    zone = ZoneInfo(app.config["BUSINESS_TIMEZONE"])
    catch_up = int(app.config["SCHEDULER_CATCH_UP_DAYS"])
    db.session.rollback()  # each claim is a transaction of its own
    claimed = []
    for job in registered_jobs(app.config) if jobs is None else jobs:
        try:
            claimed.extend(_tick_job(app, job, now, zone, catch_up))
        except Exception:  # one job's trouble (a database hiccup) must not stop the others
            db.session.rollback()
            log.exception("scheduler: could not tick %s", job.name)
    return claimed


def _tick_job(app, job, now, zone, catch_up):
    claimed = []
    for _ in range(max(catch_up, 1) + 1):
        begin_write(db.session)  # SQLite: take the write lock before reading what to claim
        period = _next_period(job, now, zone, catch_up)
        if period is None:
            db.session.rollback()
            break
        run_id = _claim(job, period)
        if run_id is None:  # another scheduler got there first; it carries on from here
            break
        claimed.append((job.name, period))
        if app.config["REDIS_URL"]:
            break  # the run is on a worker: the next period waits for the next tick
        state = db.session.execute(sa.select(SchedulerRun.finished_at, SchedulerRun.error)
                                   .where(SchedulerRun.id == run_id)).one()
        db.session.rollback()
        if state.finished_at is None:  # failed (or not run): later periods wait
            break
    return claimed


def _next_period(job, now, zone, catch_up):
    """The period to claim next: an unfinished one (failed: retried; still running: None, wait), else the
    oldest due one after the newest claimed."""
    open_run = db.session.execute(
        sa.select(SchedulerRun.period, SchedulerRun.error)
        .where(SchedulerRun.job == job.name, SchedulerRun.finished_at.is_(None))
        .order_by(SchedulerRun.period).limit(1)).first()
    if open_run is not None:
        return open_run.period if open_run.error is not None else None
    last = db.session.scalar(sa.select(sa.func.max(SchedulerRun.period)).where(SchedulerRun.job == job.name))
    due = job.due_periods(now, zone, last, catch_up)
    return due[0] if due else None


def _claim(job, period) -> int | None:
    """Claim ``period`` of ``job`` and hand its task over once the claim commits; None if another scheduler
    holds it. A failed period is claimed again by clearing its error, in one conditional UPDATE."""
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    run_id = db.session.execute(
        insert(SchedulerRun).values(job=job.name, period=period, claimed_at=now, attempts=1)
        .on_conflict_do_nothing(index_elements=["job", "period"]).returning(SchedulerRun.id)).scalar()
    if run_id is None:
        run_id = db.session.execute(
            sa.update(SchedulerRun)
            .where(SchedulerRun.job == job.name, SchedulerRun.period == period, SchedulerRun.error.is_not(None),
                   SchedulerRun.finished_at.is_(None))
            .values(error=None, claimed_at=now, attempts=SchedulerRun.attempts + 1)
            .returning(SchedulerRun.id)).scalar()
    if run_id is None:
        db.session.rollback()
        return None
    enqueue_after_commit(run_claimed, run_id, job.task)
    db.session.commit()
    log.info("scheduler: claimed %s:%s", job.name, period)
    return run_id


def run_claimed(run_id: int, task: str) -> None:
    """The job behind a claim: run ``task`` with the period and record how it ended. A failure is recorded on
    the row (and logged), not raised: the next tick retries the period, not the pending-job sweep."""
    run = db.session.get(SchedulerRun, run_id)
    if run is None or run.finished_at is not None or run.error is not None:
        return  # done already (a second delivery), or failed and waiting for its retry
    period = run.period
    db.session.rollback()
    try:
        resolve(task)(period)
    except Exception as exc:
        db.session.rollback()
        log.exception("scheduler: %s for %s failed", task, period)
        error = "".join(traceback.format_exception_only(exc)).strip() or type(exc).__name__
        db.session.execute(sa.update(SchedulerRun).where(SchedulerRun.id == run_id).values(error=error[:4000]))
        db.session.commit()
        return
    db.session.execute(sa.update(SchedulerRun).where(SchedulerRun.id == run_id).values(finished_at=utcnow()))
    db.session.commit()


def latest_runs(config) -> list[tuple[Job, SchedulerRun | None]]:
    """Each registered job with its newest run (None: never ran), for operators."""
    result = []
    for job in registered_jobs(config):
        run = db.session.scalar(sa.select(SchedulerRun).where(SchedulerRun.job == job.name)
                                .order_by(SchedulerRun.period.desc()).limit(1))
        result.append((job, run))
    return result


# --------------------------------------------------------------------------- leading and looping

class Leadership:
    """Whether this process is the scheduler that ticks: on PostgreSQL, the holder of an advisory lock on a
    connection kept for it (the lock goes when the process or its connection dies, and another takes over).
    On SQLite every scheduler ticks; the unique claim keeps each period to one run."""

    def __init__(self, engine):
        self.engine = engine
        self.connection = None

    def holds(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        try:
            if self.connection is not None:
                self.connection.execute(sa.text("SELECT 1"))
                self.connection.commit()
                return True
            connection = self.engine.connect()
            won = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}).scalar()
            connection.commit()
            if won:
                self.connection = connection
                log.info("scheduler: this process leads")
                return True
            connection.close()
            return False
        except sa.exc.DBAPIError:
            log.warning("scheduler: lost the database connection; leading again once it is back")
            self.release()
            return False

    def release(self):
        if self.connection is not None:
            try:
                # Closing only returns the connection to the pool, where the session (and the lock) live on.
                self.connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY})
                self.connection.commit()
                self.connection.close()
            except sa.exc.DBAPIError:
                self.connection.invalidate()  # the database session ends, and the lock with it
            self.connection = None


def run(app, stop: threading.Event, interval: float | None = None, wait_first: bool = False) -> None:
    """Tick every SCHEDULER_TICK_SECONDS while this process leads, until ``stop`` is set; ``wait_first``: one
    interval before the first tick."""
    interval = interval if interval is not None else app.config["SCHEDULER_TICK_SECONDS"]
    with app.app_context():
        leadership = Leadership(db.engine)
    try:
        if wait_first:
            stop.wait(interval)
        while not stop.is_set():
            with app.app_context():
                try:
                    if leadership.holds():
                        tick()
                except Exception:
                    log.exception("scheduler tick failed")
                finally:
                    db.session.remove()
            stop.wait(interval)
    finally:
        leadership.release()


def start_thread(app) -> tuple[threading.Thread, threading.Event]:
    """The embedded scheduler (``helpdesk serve``): ``run`` in a daemon thread; set the event to stop it. Its first
    tick comes one interval after the start, so what serve prints last is where to go and how to log in."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app, stop), kwargs={"wait_first": True}, name="scheduler",
                              daemon=True)
    thread.start()
    return thread, stop
