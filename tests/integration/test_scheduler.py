"""The scheduler of periodic jobs: each period of a job runs once, however often and from however many
processes it ticks; a failed period is recorded and retried; missed days run after an outage, oldest first;
`helpdesk serve` runs the scheduler by itself."""
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from helpdesk import scheduler
from helpdesk.extensions import db
from helpdesk.jobs import PendingJob, get_queue, run_worker
from helpdesk.scheduler import Job, SchedulerRun
from tests.conftest import REDIS_URL, _free_port

RECORD = "tests.integration.test_scheduler.record_period"
DAILY = Job("test.daily", RECORD, daily_at=time_of_day(3, 0))
OFTEN = Job("test.often", RECORD, every_minutes=15)
DEC_3_AFTER_RUN = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def record_period(period):
    """The test task: writes the period it was given to the log file of the app it runs in (so two processes
    or threads running it would leave two lines), unless the "broken" file exists."""
    log = Path(current_app.config["INSTANCE_PATH"]) / "periods.log"
    if (log.parent / "broken").exists():
        raise RuntimeError("the service behind the job is down")
    with log.open("a") as out:
        out.write(period + "\n")


def _ran(app):
    log = Path(app.config["INSTANCE_PATH"]) / "periods.log"
    return log.read_text().split() if log.exists() else []


def _runs():
    db.session.rollback()
    return db.session.execute(sa.select(SchedulerRun.job, SchedulerRun.period, SchedulerRun.finished_at.is_not(None),
                                        SchedulerRun.error, SchedulerRun.attempts)
                              .order_by(SchedulerRun.period)).all()


def test_ticking_twice_runs_the_day_once(app):
    assert scheduler.tick(DEC_3_AFTER_RUN, jobs=[DAILY]) == [("test.daily", "2026-12-03")]
    assert scheduler.tick(DEC_3_AFTER_RUN + timedelta(minutes=1), jobs=[DAILY]) == []

    assert _ran(app) == ["2026-12-03"]
    [(job, period, finished, error, attempts)] = _runs()
    assert (job, period, finished, error, attempts) == ("test.daily", "2026-12-03", True, None, 1)


def test_the_day_is_due_from_its_hour_in_the_business_time_zone(app_factory, smtp):
    app = app_factory(BUSINESS_TIMEZONE="Europe/Istanbul")  # UTC+3 all year
    with app.app_context():
        scheduler.tick(datetime(2026, 12, 2, 23, 30, tzinfo=UTC), jobs=[DAILY])  # 02:30 on the 3rd there
        assert _ran(app) == ["2026-12-02"]
        scheduler.tick(datetime(2026, 12, 3, 0, 30, tzinfo=UTC), jobs=[DAILY])  # 03:30 there, still the 2nd in UTC
        assert _ran(app) == ["2026-12-02", "2026-12-03"]


def test_schedulers_ticking_at_once_run_each_period_once(app):
    ticks = 4
    barrier = threading.Barrier(ticks)
    claims, failures = [], []

    def tick_in_its_own_connection():
        with app.app_context():  # a session and a database connection of its own
            try:
                barrier.wait()
                claims.extend(scheduler.tick(DEC_3_AFTER_RUN, jobs=[DAILY, OFTEN]))
            except Exception as exc:
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=tick_in_its_own_connection) for _ in range(ticks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(claims) == [("test.daily", "2026-12-03"), ("test.often", "2026-12-03T09:00Z")]
    assert sorted(_ran(app)) == ["2026-12-03", "2026-12-03T09:00Z"]


def test_a_failed_run_is_recorded_and_the_same_day_is_retried_until_it_succeeds(app):
    broken = Path(app.config["INSTANCE_PATH"]) / "broken"
    broken.touch()
    scheduler.tick(DEC_3_AFTER_RUN, jobs=[DAILY])
    [(_job, period, finished, error, attempts)] = _runs()
    assert (period, finished, attempts) == ("2026-12-03", False, 1)
    assert "the service behind the job is down" in error

    # Still broken a day later: the 3rd is tried again and the 4th waits behind it.
    scheduler.tick(DEC_3_AFTER_RUN + timedelta(days=1), jobs=[DAILY])
    assert [(r.period, r.attempts) for r in _runs()] == [("2026-12-03", 2)]

    broken.unlink()
    scheduler.tick(DEC_3_AFTER_RUN + timedelta(days=1, minutes=1), jobs=[DAILY])
    assert _ran(app) == ["2026-12-03", "2026-12-04"]
    assert [(r.period, r[2], r.error, r.attempts) for r in _runs()] == [
        ("2026-12-03", True, None, 3), ("2026-12-04", True, None, 1)]


def test_missed_days_run_oldest_first_up_to_the_catch_up_limit(app_factory, smtp):
    app = app_factory(SCHEDULER_CATCH_UP_DAYS=3)
    with app.app_context():
        scheduler.tick(DEC_3_AFTER_RUN, jobs=[DAILY])
        # Down for two days: both run on the next tick, in order.
        scheduler.tick(DEC_3_AFTER_RUN + timedelta(days=2), jobs=[DAILY])
        assert _ran(app) == ["2026-12-03", "2026-12-04", "2026-12-05"]
        # Down for ten days: only the latest three.
        scheduler.tick(DEC_3_AFTER_RUN + timedelta(days=12), jobs=[DAILY])
        assert _ran(app)[3:] == ["2026-12-13", "2026-12-14", "2026-12-15"]


def test_a_job_that_never_ran_starts_with_the_latest_day(app):
    scheduler.tick(DEC_3_AFTER_RUN, jobs=[DAILY])
    assert _ran(app) == ["2026-12-03"]


def test_with_redis_the_claimed_day_goes_to_a_worker_and_survives_until_it_ran(app_factory, smtp, redis_prefix):
    app = app_factory(REDIS_URL=REDIS_URL, QUEUE_PREFIX=redis_prefix)
    with app.app_context():
        assert scheduler.tick(DEC_3_AFTER_RUN, jobs=[DAILY]) == [("test.daily", "2026-12-03")]
        assert _ran(app) == []  # nothing runs in the scheduler itself
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PendingJob)) == 1
        assert get_queue(app, "default").count == 1
        # A tick while the day is on the queue claims nothing more.
        assert scheduler.tick(DEC_3_AFTER_RUN + timedelta(days=1), jobs=[DAILY]) == []
        db.session.remove()

    run_worker(app, ["default"], burst=True)

    with app.app_context():
        assert _ran(app) == ["2026-12-03"]
        assert [(r.period, r[2]) for r in _runs()] == [("2026-12-03", True)]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PendingJob)) == 0


def test_only_one_scheduler_leads_on_postgresql(app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite relies on the unique claim alone: every scheduler ticks")
    first, second = scheduler.Leadership(db.engine), scheduler.Leadership(db.engine)
    try:
        assert first.holds() and first.holds()
        assert not second.holds()
        first.release()
        assert second.holds()
    finally:
        first.release()
        second.release()


def test_helpdesk_serve_runs_the_daily_jobs(tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("one backend is enough to see serve start the scheduler")
    database = tmp_path / "serve.db"
    env = {**os.environ, "HELPDESK_DATABASE_URL": f"sqlite:///{database}", "HELPDESK_INSTANCE_PATH": str(tmp_path),
           "HELPDESK_REDIS_URL": "", "HELPDESK_BILLING_DAILY_RUN_AT": "00:00",
           "HELPDESK_IDENTITY_DOCUMENT_RETENTION_RUN_AT": "00:00", "HELPDESK_DEVICES_REMINDER_RUN_AT": "00:00",
           "HELPDESK_SCHEDULER_TICK_SECONDS": "1"}
    env.pop("HELPDESK_CONFIG", None)
    helpdesk = Path(sys.executable).parent / "helpdesk"
    server = subprocess.Popen([str(helpdesk), "serve", "--port", str(_free_port())], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        runs = []
        deadline = time.monotonic() + 60
        while len(runs) < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                with engine.connect() as conn:
                    runs = conn.execute(sa.text(  # the daily runs (a minute's job, webhooks.sweep, runs too)
                        "SELECT job, period FROM scheduler_runs WHERE period NOT LIKE '%T%' ORDER BY job")).all()
            except sa.exc.OperationalError:  # the database is still being created
                pass
        # Whatever the jobs made of an empty database, serve claimed today's run of each once (the retention of
        # ID documents runs even with identity verification off, as it is by default).
        today = datetime.now(UTC).date().isoformat()
        assert [tuple(r) for r in runs] == [("billing.daily", today), ("devices.contract_reminders", today),
                                            ("identity.retention", today)]
    finally:
        server.terminate()
        server.wait(timeout=30)
        engine.dispose()


def test_the_scheduler_command_starts_what_is_due_once_and_reports_it(app):
    from click.testing import CliRunner

    from helpdesk.cli import main

    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None,
           "HELPDESK_BILLING_DAILY_RUN_AT": "00:00", "HELPDESK_IDENTITY_DOCUMENT_RETENTION_RUN_AT": "00:00",
           "HELPDESK_DEVICES_REMINDER_RUN_AT": "00:00"}
    # The command runs in this test's app when one is current: its settings must say the same as the environment.
    app.config.update(BILLING_DAILY_RUN_AT="00:00", IDENTITY_DOCUMENT_RETENTION_RUN_AT="00:00",
                      DEVICES_REMINDER_RUN_AT="00:00")
    today = datetime.now(UTC).date().isoformat()
    db.session.commit()

    first = CliRunner().invoke(main, ["scheduler", "--once"], env=env)
    again = CliRunner().invoke(main, ["scheduler", "--once"], env=env)
    status = CliRunner().invoke(main, ["scheduler", "--status"], env=env)

    assert first.exit_code == 0
    daily = [line for line in first.output.splitlines() if "T" not in line.rsplit(" ", 1)[-1]]  # not the minute's
    assert daily == [f"started billing.daily for {today}",
                                         f"started identity.retention for {today}",
                                         f"started devices.contract_reminders for {today}"]
    assert again.exit_code == 0 and again.output.strip() == ""
    # Done, or failed with its error: either way the operator sees today's run of each job.
    billing, identity, reminders = [line for line in status.output.splitlines() if not line.startswith("webhooks.")]
    assert billing.startswith(f"billing.daily\t{today} ") and identity.startswith(f"identity.retention\t{today} ")
    assert reminders.startswith(f"devices.contract_reminders\t{today} ")
