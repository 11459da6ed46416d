"""The PostgreSQL search backend (SEARCH_BACKEND = "postgresql"): refused on SQLite; several processes index
and search one desk without a search worker; the last word completes while typing; a rebuild keeps searches
working until it is done; status counts documents. The callers' behaviour tests run on it too, through
``rerun`` (test_search_postgres_*.py)."""
import os
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from helpdesk.actors import SYSTEM
from helpdesk.cli import main
from helpdesk.extensions import db
from helpdesk.search import backend, postgres_backend
from helpdesk.search import index as search
from helpdesk.tickets import service
from tests.conftest import make_app


def rerun(namespace, module, only=None, left_out=()):
    """Put ``module``'s tests (those named in ``only``, else all but ``left_out``) into the test module whose
    globals are ``namespace``: pytest runs them there with that module's fixtures (``app_factory`` below)."""
    for name, value in vars(module).items():
        if name.startswith("test_") and callable(value) and (name in only if only else name not in left_out):
            namespace[name] = value


@pytest.fixture
def app_factory(app_factory):
    """Apps searching in PostgreSQL, on a search_documents table emptied for each test (the conftest empties
    the models' tables; this one has no model)."""
    emptied = []

    def factory(**overrides):
        overrides.setdefault("SEARCH_BACKEND", "postgresql")
        app = app_factory(**overrides)
        if not emptied:
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM search_documents"))
            emptied.append(app)
        return app

    return factory


def numbers(actor, text):
    return [hit.number for hit in search.search_tickets(actor, text)]


def test_the_postgresql_backend_is_refused_at_start_up_on_sqlite(tmp_path):
    with pytest.raises(RuntimeError, match='SEARCH_BACKEND = "postgresql" needs a PostgreSQL database'):
        make_app(f"sqlite:///{tmp_path / 'helpdesk.db'}", tmp_path / "instance", SEARCH_BACKEND="postgresql")


_OPEN_AND_SEARCH = textwrap.dedent("""
    import sys
    from helpdesk import create_app
    from helpdesk.actors import SYSTEM
    from helpdesk.extensions import db
    from helpdesk.search import index
    from helpdesk.tickets import service
    from helpdesk.tickets.models import Department

    subject, wanted = sys.argv[1], sys.argv[2]
    app = create_app("testing")
    with app.app_context():
        department = db.session.scalars(db.select(Department)).first()
        service.open_ticket(SYSTEM, subject=subject, body_text="Sent from " + subject,
                            requester_email="someone@example.test", department=department)
        print(" ".join(sorted(hit.ticket.subject for hit in index.search_tickets(SYSTEM, wanted))))
""")


@pytest.mark.backends("postgresql")
def test_two_processes_index_and_search_the_same_tickets_without_a_search_worker(app, agent, tmp_path):
    """Each process writes its ticket's index entry itself (no Redis, no search worker) and finds the
    other's: the index is in the shared database, not in a process or on one disk."""
    env = {**os.environ, "HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_SEARCH_BACKEND": "postgresql", "HELPDESK_REDIS_URL": "", "HELPDESK_SMTP_HOST": "127.0.0.1",
           "HELPDESK_SMTP_PORT": str(app.config["SMTP_PORT"]), "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"]}
    db.session.commit()

    def process(name, wanted, instance):
        env_of = {**env, "HELPDESK_INSTANCE_PATH": str(tmp_path / instance)}
        done = subprocess.run([sys.executable, "-c", _OPEN_AND_SEARCH, name, wanted], env=env_of,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert process("walrus", "walrus", "one") == ["walrus"]
    assert process("narwhal", "walrus", "two") == ["walrus"]  # written by the first process
    assert process("pelican", "narwhal", "one") == ["narwhal"]
    # And this process (a third app) finds all three, no worker having run.
    assert sorted(hit.ticket.subject for hit in search.search_tickets(agent, "sent")) == \
        ["narwhal", "pelican", "walrus"]
    assert not list((tmp_path / "one").glob("*index*")) and not list((tmp_path / "two").glob("*index*"))


@pytest.mark.backends("postgresql")
def test_the_last_word_completes_while_typing(app, agent, department):
    wanted = service.open_ticket(agent, subject="Toner cartridge stuck", body_text="In the Straße branch.",
                                 department=department, requester_email="a@example.test")
    service.open_ticket(agent, subject="Toner delivered", body_text="Thanks.", department=department,
                        requester_email="b@example.test")
    request = backend.SearchRequest("toner cartr", search.AGENT_FIELDS, typing=True)

    found = backend.get_backend().search(search.TICKETS, request)

    assert [d["id"] for d in found.documents] == [str(wanted.id)]
    assert "cartridge" in found.terms["subject"]
    assert backend.get_backend().search(search.TICKETS, backend.SearchRequest("toner cartr",
                                                                              search.AGENT_FIELDS)).documents == []
    completed = backend.get_backend().search(search.TICKETS, backend.SearchRequest(
        "strasse bran", search.AGENT_FIELDS, typing=True))
    assert [d["id"] for d in completed.documents] == [str(wanted.id)]


@pytest.mark.backends("postgresql")
def test_searches_find_the_old_documents_until_a_rebuild_is_done(app, agent, department):
    first = service.open_ticket(agent, subject="Printer on fire", body_text="Smoke.", department=department,
                                requester_email="a@example.test")
    seen_during_rebuild = []

    def documents():
        yield {**search.document(first), "subject": "Printer replaced"}
        # Half-way through the rebuild another process still finds the old text.
        seen_during_rebuild.append(numbers(agent, "fire"))

    written = backend.get_backend().rebuild(search.TICKETS, documents())

    assert written == 1 and seen_during_rebuild == [[first.number]]
    assert numbers(agent, "fire") == [] and numbers(agent, "replaced") == [first.number]


@pytest.mark.backends("postgresql")
def test_status_counts_the_documents_and_says_when_they_were_last_written(app, agent, department):
    assert search.status()["documents"] == 0
    service.open_ticket(agent, subject="One", body_text="x", department=department, requester_email="a@example.test")
    service.open_ticket(agent, subject="Two", body_text="x", department=department, requester_email="b@example.test")

    state = search.status()

    assert state["documents"] == 2 and state["last_update"] is not None and not state["rebuild_needed"]
    assert "search_documents" in state["location"]


@pytest.mark.backends("postgresql")
def test_typos_are_looked_up_in_small_collections_only(app, monkeypatch):
    """The documented difference from Whoosh: words one typo away are looked for among the collection's words
    while it holds at most FUZZY_MAX_DOCUMENTS documents (a knowledge base), not among a million tickets'."""
    ticket = service.open_ticket(SYSTEM, subject="Router firmware", body_text="x", requester_email="a@example.test")
    request = backend.SearchRequest("firmwere", search.AGENT_FIELDS, fuzzy=True)
    assert [d["id"] for d in backend.get_backend().search(search.TICKETS, request).documents] == [str(ticket.id)]

    monkeypatch.setattr(postgres_backend, "FUZZY_MAX_DOCUMENTS", 0)

    assert backend.get_backend().search(search.TICKETS, request).documents == []


@pytest.mark.backends("postgresql")
def test_the_search_commands_rebuild_and_report_the_postgresql_index(app, agent, department):
    ticket = service.open_ticket(agent, subject="Printer on fire", body_text="Smoke.", department=department,
                                 requester_email="a@example.test")
    with db.engine.begin() as conn:  # as after restoring a backup without the index
        conn.execute(sa.text("DELETE FROM search_documents"))
    db.session.commit()
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "HELPDESK_SEARCH_BACKEND": "postgresql",
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None}
    assert numbers(agent, "fire") == []

    rebuilt = CliRunner().invoke(main, ["search", "rebuild"], env=env)
    status = CliRunner().invoke(main, ["search", "status"], env=env)

    assert rebuilt.exit_code == 0, rebuilt.output
    assert "search index rebuilt: 1 ticket(s) in PostgreSQL table search_documents" in rebuilt.output
    assert numbers(agent, "fire") == [ticket.number]
    assert status.exit_code == 0 and "up to date" in status.output


@pytest.mark.backends("postgresql")
def test_two_search_workers_on_two_instance_folders_share_the_queue(app_factory, smtp, redis_prefix, tmp_path):
    """With Redis, requests queue index updates on the `search` queue as with Whoosh, but any number of workers,
    on any machine, may serve it: two run here at once, each with its own instance folder."""
    from pathlib import Path

    from redis import Redis
    from rq import Queue

    from helpdesk.accounts import service as accounts

    queued = app_factory(REDIS_URL="redis://127.0.0.1:6379/0", QUEUE_PREFIX=redis_prefix)
    with queued.app_context():
        agent = accounts.create_user(SYSTEM, email="q@example.test", full_name="Quinn Queue", role="agent",
                                     password="correct horse battery")
        for n in range(8):
            service.open_ticket(agent, subject=f"Queued kangaroo {n}", body_text="Through Redis",
                                requester_email=f"k{n}@example.test")
        assert Queue(f"{redis_prefix}-search", connection=Redis.from_url("redis://127.0.0.1:6379/0")).count == 8
        assert numbers(SYSTEM, "kangaroo") == []
        db.session.remove()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_DATABASE_URL=queued.config["SQLALCHEMY_DATABASE_URI"], HELPDESK_SEARCH_BACKEND="postgresql",
               HELPDESK_REDIS_URL="redis://127.0.0.1:6379/0", HELPDESK_QUEUE_PREFIX=redis_prefix,
               HELPDESK_SECRET_KEY=queued.config["SECRET_KEY"], HELPDESK_SMTP_HOST="127.0.0.1",
               HELPDESK_SMTP_PORT=str(smtp.port))
    helpdesk = Path(sys.executable).with_name("helpdesk")
    workers = [subprocess.Popen([str(helpdesk), "worker", "--burst", "--queue", "search"],
                                env={**env, "HELPDESK_INSTANCE_PATH": str(tmp_path / f"machine{n}")},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in (1, 2)]
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-2000:]

    with queued.app_context():
        assert len(numbers(SYSTEM, "kangaroo")) == 8
        db.session.remove()
    assert not list(tmp_path.glob("machine*/*index*"))


@pytest.mark.backends("postgresql")
def test_a_count_limit_stops_counting_but_still_ranks_the_newest(app, agent, department):
    app.config.update(SEARCH_COUNT_LIMIT=3, SEARCH_RANKED_WINDOW=2)
    opened = [service.open_ticket(agent, subject=f"Printer {n}", body_text="Jammed.", department=department,
                                  requester_email=f"p{n}@example.test").number for n in range(5)]

    found = search.search_tickets(agent, "printer")

    assert found.total == 3 and found.ranked == 2
    assert sorted(hit.number for hit in found) == sorted(opened[-2:])
    app.config["SEARCH_COUNT_LIMIT"] = 0
    assert search.search_tickets(agent, "printer").total == 5


@pytest.mark.backends("postgresql")
def test_status_asks_for_a_rebuild_while_documents_of_an_older_analysis_remain(app, agent, department):
    ticket = service.open_ticket(agent, subject="Printer", body_text="x", department=department,
                                 requester_email="a@example.test")
    assert search.status()["rebuild_needed"] is False
    with db.engine.begin() as conn:  # as written by a release whose folding differed
        conn.execute(sa.text("UPDATE search_documents SET tags = array_remove(tags, :t)"),
                     {"t": f"_analysis={postgres_backend.ANALYSIS_VERSION}"})
    assert search.status()["rebuild_needed"] is True

    search.rebuild()

    assert search.status()["rebuild_needed"] is False and numbers(agent, "printer") == [ticket.number]
