"""Side effects that cannot be lost: every job is a row of the transaction that asks for it, deleted once
the job has run. When Redis is down, or the process dies between the commit and the job, the row stays,
`helpdesk search status` shows it, and the sweep runs it later: the ticket reaches the search index."""
import socket

import sqlalchemy as sa
from click.testing import CliRunner

from helpdesk.actors import SYSTEM
from helpdesk.cli import main
from helpdesk.extensions import db
from helpdesk.jobs import PendingJob, sweep_pending
from helpdesk.search import index as search
from helpdesk.tickets import service


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens here once the socket is closed


def _pending():
    db.session.expire_all()
    return db.session.scalars(sa.select(PendingJob).order_by(PendingJob.id)).all()


def _found(agent, word):
    return [hit.number for hit in search.search_tickets(agent, word)]


def _status(app):
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None}
    db.session.commit()
    return CliRunner().invoke(main, ["search", "status"], env=env).stdout


def test_a_job_that_ran_leaves_no_row_behind(app, smtp, department, agent):
    number = service.open_ticket(SYSTEM, subject="Scanner smokes", body_text="Smoke everywhere",
                                 requester_email="kim@customer.test", department=department.id).number

    assert _pending() == []
    assert _found(agent, "smokes") == [number]
    assert "up to date" in _status(app)


def test_index_updates_survive_a_redis_outage_and_the_sweep_delivers_them(app_factory, smtp, agent, department):
    down = app_factory(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0", JOBS_REDISPATCH_SECONDS=0)
    with down.app_context():
        # The commit succeeds; handing the index update (and the acknowledgement) to Redis fails.
        number = service.open_ticket(SYSTEM, subject="Zeppelin lands on the roof", body_text="Please help",
                                     requester_email="kim@customer.test", department=department.id).number
        rows = _pending()
        assert "helpdesk.search.tasks.reindex_tickets" in [row.task for row in rows]
        assert all(row.dispatched_at is None for row in rows)  # marked for the very next sweep
        db.session.remove()

    # The product comes back without Redis (jobs in this process): nothing is in the index yet.
    assert _found(agent, "zeppelin") == []
    assert "1 update(s) pending" in _status(down)

    assert sweep_pending() >= 1

    assert _found(agent, "zeppelin") == [number]
    assert [row.task for row in _pending() if row.task.startswith("helpdesk.search.")] == []
    assert "up to date" in _status(down)


def test_a_job_that_fails_keeps_its_row_for_the_sweep(app, smtp, department, agent, monkeypatch):
    from helpdesk.search import tasks

    def broken(*ticket_ids):
        raise OSError("disk full")

    monkeypatch.setattr(tasks, "reindex_tickets", broken)
    number = service.open_ticket(SYSTEM, subject="Kettle boils over", body_text="Again",
                                 requester_email="kim@customer.test", department=department.id).number
    assert [row.task for row in _pending()] == ["helpdesk.search.tasks.reindex_tickets"]

    monkeypatch.undo()
    app.config["JOBS_REDISPATCH_SECONDS"] = 0
    sweep_pending()

    assert _found(agent, "kettle") == [number]
    assert _pending() == []


def test_a_rolled_back_transaction_leaves_no_job(app, smtp, department):
    from helpdesk.jobs import enqueue_after_commit

    enqueue_after_commit("helpdesk.search.tasks.reindex_tickets", 12345, queue="search")
    db.session.rollback()
    db.session.commit()

    assert _pending() == []


KILLED_SCRIPT = """
import os, sys
from helpdesk import create_app
from helpdesk import jobs
from helpdesk.actors import SYSTEM
from helpdesk.tickets import service

app = create_app("testing", {"DATABASE_URL": sys.argv[1], "INSTANCE_PATH": sys.argv[2], "REDIS_URL": ""})
# Die the moment the commit is done, before any job is handed over (what kill -9 does at that instant).
jobs._dispatch = lambda app, items: os._exit(9)
with app.app_context():
    service.open_ticket(SYSTEM, subject="Hovercraft full of eels", body_text="Really",
                        requester_email="kim@customer.test")
"""


def test_a_process_killed_between_commit_and_index_write_loses_nothing(app, smtp, agent, department):
    import subprocess
    import sys

    db.session.commit()
    died = subprocess.run([sys.executable, "-c", KILLED_SCRIPT, app.config["SQLALCHEMY_DATABASE_URI"],
                           app.config["INSTANCE_PATH"]], capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stderr[-2000:]

    # Restarted: the ticket is in the database, not yet in the index; the sweep at start puts it there.
    assert _found(agent, "hovercraft") == []
    assert "helpdesk.search.tasks.reindex_tickets" in [row.task for row in _pending()]
    app.config["JOBS_REDISPATCH_SECONDS"] = 0
    sweep_pending()

    (number,) = _found(agent, "hovercraft")
    assert number >= 1000
    assert _pending() == []


def test_held_jobs_shared_with_another_process_are_taken_back_when_this_one_is_done_first(
        app, smtp, department, agent, monkeypatch):
    """``helpdesk mail ingest`` without Redis holds its jobs to the end and shares them with its parser process:
    the first task here, the others there in small calls. The other process is slow here (its first call waits):
    once done with its own part, this process runs the calls the other has not started. Every mail goes out once,
    every ticket is found, no job row is left."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from helpdesk import jobs
    from helpdesk.notify import tasks

    monkeypatch.setattr(tasks.deliver_many, "held_share", 2, raising=False)
    main_thread, taken_back, ran = threading.current_thread(), threading.Event(), []
    real_run = jobs.run_task

    def run_here(task, *args, app=None):
        ran.append(("here", task.rsplit(".", 1)[-1], len(args)))
        if task.endswith("deliver_many") and threading.current_thread() is main_thread:
            taken_back.set()  # the other process may go on now
        return real_run(task, *args, app=app)

    monkeypatch.setattr(jobs, "run_task", run_here)
    other = ThreadPoolExecutor(max_workers=1)  # stands in for the parser process (a seam: where a job runs)
    app_object = app

    def slow_other(task, args):
        def call():
            # The other process starts on its first call only once this one has taken back a call: the calls
            # still queued behind that first one are the ones this process can take.
            taken_back.wait(timeout=30)
            ran.append(("there", task.rsplit(".", 1)[-1], len(args)))
            return real_run(task, *args, app=app_object)
        return other.submit(call)

    try:
        with jobs.held(slow_other):
            numbers = [service.open_ticket(SYSTEM, subject=f"Fax {n} hums", body_text="A low hum.",
                                           requester_email=f"guest{n}@customer.test", department=department.id).number
                       for n in range(7)]
    finally:
        other.shutdown(wait=True)
    db.session.rollback()  # this test's own read began inside the block, before the jobs ran

    assert sorted(m["To"] for m in smtp.messages) == sorted(f"guest{n}@customer.test" for n in range(7))
    delivered_here = [size for where, task, size in ran if where == "here" and task == "deliver_many"]
    delivered_there = [size for where, task, size in ran if where == "there" and task == "deliver_many"]
    assert delivered_there == [2] and sorted(delivered_here) == [1, 2, 2]  # the first call there, the rest here
    assert sum(delivered_here + delivered_there) == 7
    assert sorted(_found(agent, "hums")) == sorted(numbers)
    assert _pending() == []
