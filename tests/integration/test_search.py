"""Ticket search as agents and operators meet it: the index follows the ticket store after each commit
(in-process jobs here), the console's search page, `helpdesk search rebuild`, and accent folding."""
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from helpdesk.actors import SYSTEM
from helpdesk.cli import main
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.search import index as search
from helpdesk.search import whoosh_backend
from helpdesk.search.backend import get_backend
from helpdesk.tickets import customers, departments, service
from helpdesk.tickets.models import CLOSED, Ticket
from tests.conftest import log_in


@pytest.fixture
def ticket(agent, department):
    return service.open_ticket(agent, subject="Printer on fire", body_text="Smoke comes out of the tray.",
                               requester_email="carla@example.test", requester_name="Carla Customer",
                               department=department)


def numbers(actor, text, **filters):
    return [hit.number for hit in search.search_tickets(actor, text, **filters)]


def test_ticket_is_found_by_a_word_of_a_later_message(agent, ticket):
    service.add_customer_message(SYSTEM, ticket, body_text="The toner cartridge exploded.",
                                 author_email="carla@example.test")

    assert numbers(agent, "cartridge") == [ticket.number]
    assert numbers(agent, "smoke tray") == [ticket.number]
    assert numbers(agent, "unicorn") == []


def test_ticket_is_found_by_subject_and_a_new_subject_replaces_the_old(agent, ticket):
    assert numbers(agent, "printer") == [ticket.number]

    service.update_ticket(agent, ticket, subject="Scanner jammed")

    assert numbers(agent, "scanner") == [ticket.number]
    assert numbers(agent, "printer") == []


def test_ticket_is_found_by_a_participants_email_and_name(agent, ticket):
    service.add_participant(agent, ticket, "bob.builder@example.test")

    assert numbers(agent, "bob.builder@example.test") == [ticket.number]
    assert numbers(agent, "carla@example.test") == [ticket.number]
    assert numbers(agent, "Carla") == [ticket.number]


def test_internal_note_words_are_found_by_agents_only(agent, ticket, customer):
    service.add_internal_note(agent, ticket, body_text="Suspect the fuser unit.")

    assert numbers(agent, "fuser") == [ticket.number]
    assert numbers(customer, "fuser") == []


def test_status_and_department_filters_follow_changes(agent, ticket, department):
    other = departments.create_department(SYSTEM, name="Billing")

    assert numbers(agent, "printer", status="open", department=department) == [ticket.number]
    service.close(agent, ticket)

    assert numbers(agent, "printer", status="open") == []
    assert numbers(agent, "printer", status=CLOSED) == [ticket.number]
    assert numbers(agent, "printer", department=other) == []
    assert numbers(agent, "printer", assignee="none") == [ticket.number]


def test_agent_outside_the_department_does_not_find_the_ticket(make_user, agent, ticket):
    billing = departments.create_department(SYSTEM, name="Billing")
    outsider = make_user("agent", email="olga@example.test")
    departments.add_agent_to_department(SYSTEM, billing, outsider)

    assert numbers(outsider, "printer") == []
    assert numbers(agent, "printer") == [ticket.number]


def test_search_page_shows_highlighted_escaped_snippets(client, agent, ticket):
    service.add_customer_message(SYSTEM, ticket, body_text="<script>alert(1)</script> the fuser melted",
                                 author_email="carla@example.test")
    log_in(client, "agent@example.test")

    page = client.get("/agent/search", query_string={"q": "fuser"}).get_data(as_text=True)

    assert f'#{ticket.number} <bdi dir="auto">Printer on fire</bdi>' in page
    assert "<mark" in page and ">fuser</mark>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_search_page_hides_tickets_of_other_departments(client, make_user, ticket):
    billing = departments.create_department(SYSTEM, name="Billing")
    outsider = make_user("agent", email="olga@example.test")
    departments.add_agent_to_department(SYSTEM, billing, outsider)
    log_in(client, "olga@example.test")

    response = client.get("/agent/search", query_string={"q": "printer"})

    assert response.status_code == 200
    assert "Printer on fire" not in response.get_data(as_text=True)
    # Nor does its number lead there: it is searched as text instead.
    assert client.get("/agent/search", query_string={"q": str(ticket.number)}).status_code == 200


@pytest.mark.parametrize("query", ["{number}", "#{number}", " # {number} "])
def test_a_ticket_number_jumps_to_the_ticket(client, agent, ticket, query):
    log_in(client, "agent@example.test")

    response = client.get("/agent/search", query_string={"q": query.format(number=ticket.number)})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/agent/tickets/{ticket.number}")


def test_customers_get_not_found_on_the_search_page(client, customer):
    log_in(client, "carla@example.test")

    assert client.get("/agent/search", query_string={"q": "printer"}).status_code == 404


def test_accented_words_match_their_plain_spelling(agent, department):
    texts = {
        "Größenänderung der Straße": "Bitte prüfen Sie die Überweisung.",
        "İstanbul şubesinde yazıcı çalışmıyor": "Lütfen yardım edin.",
        "Árvíztűrő tükörfúrógép": "Hibás számla érkezett.",
        "چاپگر كار نمي‌كند": "لطفاً کمک کنید",
    }
    tickets = {subject: service.open_ticket(agent, subject=subject, body_text=body, department=department,
                                            requester_email="kunde@example.test").number
               for subject, body in texts.items()}

    assert numbers(agent, "grossenanderung strasse") == [tickets["Größenänderung der Straße"]]
    assert numbers(agent, "uberweisung prufen") == [tickets["Größenänderung der Straße"]]
    assert numbers(agent, "istanbul subesinde yazici calismiyor") == [tickets["İstanbul şubesinde yazıcı çalışmıyor"]]
    assert numbers(agent, "İSTANBUL") == [tickets["İstanbul şubesinde yazıcı çalışmıyor"]]
    assert numbers(agent, "tukorfurogep szamla") == [tickets["Árvíztűrő tükörfúrógép"]]
    # Persian typed with Persian yeh and kaf and without the zero-width non-joiner.
    assert numbers(agent, "کار نمیکند") == [tickets["چاپگر كار نمي‌كند"]]


@pytest.fixture
def helpdesk(app, smtp):
    """Run ``helpdesk <args>`` against this test's database and instance folder; returns the click Result."""
    env = {
        "HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"],
        "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
        "HELPDESK_SMTP_HOST": "127.0.0.1",
        "HELPDESK_SMTP_PORT": str(smtp.port),
        "HELPDESK_REDIS_URL": "",
        "HELPDESK_CONFIG": None,
    }

    def run(*args):
        db.session.commit()
        result = CliRunner().invoke(main, [str(a) for a in args], env=env)
        db.session.expire_all()
        return result

    return run


def test_search_rebuild_recreates_a_deleted_index(app, helpdesk, agent, ticket, department):
    second = service.open_ticket(agent, subject="Printer offline", body_text="No lights.",
                                 requester_email="dan@example.test", department=department)
    shutil.rmtree(app.config["SEARCH_INDEX_PATH"])
    assert numbers(agent, "printer") == []

    result = helpdesk("search", "rebuild")

    assert result.exit_code == 0, result.output
    assert "2 ticket(s)" in result.stdout
    assert sorted(numbers(agent, "printer")) == [ticket.number, second.number]
    assert numbers(agent, "lights") == [second.number]


def test_index_survives_an_application_restart(app, app_factory, ticket):
    path = Path(app.config["SEARCH_INDEX_PATH"])
    assert path.is_dir()

    restarted = app_factory()

    assert restarted is not app and restarted.config["SEARCH_INDEX_PATH"] == str(path)
    with restarted.app_context():
        assert numbers(SYSTEM, "smoke") == [ticket.number]


def test_with_redis_the_search_worker_updates_the_index_after_commit(app_factory, smtp, redis_prefix):
    """Production: the request only queues one job on the `search` queue; `helpdesk worker --queue search`
    (the Procfile's one search worker) writes the index."""
    import os
    import subprocess
    import sys

    from redis import Redis
    from rq import Queue

    from helpdesk.accounts import service as accounts

    queued = app_factory(REDIS_URL="redis://127.0.0.1:6379/0", QUEUE_PREFIX=redis_prefix)
    with queued.app_context():
        agent = accounts.create_user(SYSTEM, email="q@example.test", full_name="Quinn Queue", role="agent",
                                     password="correct horse battery")
        ticket = service.open_ticket(agent, subject="Queued kangaroo", body_text="Through Redis",
                                     requester_email="k@example.test")
        service.add_agent_reply(agent, ticket, body_text="Noted.")
        number = ticket.number
        queue = Queue(f"{redis_prefix}-search", connection=Redis.from_url("redis://127.0.0.1:6379/0"))
        assert queue.count == 2  # one per commit, though the reply also changed the status
        assert numbers(SYSTEM, "kangaroo") == []  # nothing is indexed inside the request
        db.session.remove()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_DATABASE_URL=queued.config["SQLALCHEMY_DATABASE_URI"],
               HELPDESK_INSTANCE_PATH=queued.config["INSTANCE_PATH"], HELPDESK_REDIS_URL="redis://127.0.0.1:6379/0",
               HELPDESK_QUEUE_PREFIX=redis_prefix, HELPDESK_SECRET_KEY=queued.config["SECRET_KEY"],
               HELPDESK_SMTP_HOST="127.0.0.1", HELPDESK_SMTP_PORT=str(smtp.port))
    helpdesk = Path(sys.executable).with_name("helpdesk")
    result = subprocess.run([str(helpdesk), "worker", "--burst", "--queue", "search"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    with queued.app_context():
        assert numbers(SYSTEM, "kangaroo") == [number]
        db.session.remove()


def test_rebuild_in_small_batches_indexes_every_ticket_once(agent, department):
    opened = [service.open_ticket(agent, subject=f"Batch walrus {n}", body_text="x", department=department,
                                  requester_email="w@example.test").number for n in range(5)]

    assert search.rebuild(batch_size=2) == 5

    assert sorted(numbers(agent, "walrus")) == opened


def test_a_customers_new_email_address_finds_their_tickets(agent, ticket):
    requester = ticket.requester

    customers.change_customer_email(agent, requester, "carla.new@example.test")

    assert numbers(agent, "carla.new@example.test") == [ticket.number]
    assert numbers(agent, "carla@example.test") == []


def test_search_page_filters_by_status_and_date_and_explains_a_bad_date(client, agent, ticket):
    log_in(client, "agent@example.test")
    today = ticket.created_at.date().isoformat()

    def page(**args):
        return client.get("/agent/search", query_string={"q": "printer", **args}).get_data(as_text=True)

    assert "Printer on fire" in page(status="open", since=today, until=today)
    assert "Printer on fire" not in page(status="closed")
    assert "Printer on fire" not in page(since="2999-01-01")
    bad = page(since="yesterday-ish")
    assert "Printer on fire" not in bad and 'aria-invalid="true"' in bad


def test_a_mail_batch_is_indexed_by_one_search_job_for_all_its_tickets(app_factory, smtp, redis_prefix):
    from redis import Redis
    from rq import Queue

    from helpdesk.mailgateway import pipeline

    queued = app_factory(REDIS_URL="redis://127.0.0.1:6379/0", QUEUE_PREFIX=redis_prefix)
    raws = [(f"From: c{i}@example.test\r\nTo: support@example.test\r\nSubject: Batch {i}\r\n"
             f"Message-ID: <batch-{i}@example.test>\r\n\r\nHello {i}\r\n").encode() for i in range(3)]
    with queued.app_context():
        outcomes = pipeline.ingest([pipeline.Fetched("file", raw, label=str(i)) for i, raw in enumerate(raws)])
        assert [o.outcome for o in outcomes] == ["new_ticket"] * 3
        search_queue = Queue(f"{redis_prefix}-search", connection=Redis.from_url("redis://127.0.0.1:6379/0"))
        [job] = search_queue.get_jobs()
        # (its pending_jobs row, the task, the three tickets)
        assert job.args[1] == "helpdesk.search.tasks.reindex_tickets" and len(job.args[2:]) == 3
        db.session.remove()


def _ticket(number):
    return db.session.scalar(sa.select(Ticket).where(Ticket.number == number))


def _printer_tickets(agent, department, count):
    return [service.open_ticket(agent, subject=f"Printer {n}", body_text="The printer jams.",
                                requester_email=f"p{n}@example.test", department=department).number
            for n in range(count)]


def test_many_matches_are_counted_and_the_most_recently_active_ranked(app, agent, department):
    app.config["SEARCH_RANKED_WINDOW"] = 3
    opened = _printer_tickets(agent, department, 5)
    weeks_ago = utcnow() - timedelta(days=20)
    for number in opened[:3]:  # the three oldest have been quiet for weeks...
        ticket = _ticket(number)
        ticket.created_at = ticket.updated_at = ticket.last_activity_at = weeks_ago
    db.session.commit()
    search.index_tickets([_ticket(n).id for n in opened[:3]])
    service.add_customer_message(SYSTEM, _ticket(opened[0]), body_text="It jams again.",
                                 author_email="p0@example.test")  # ...until the first one woke up

    found = search.search_tickets(agent, "printer", limit=5)

    assert found.total == 5 and found.ranked == 3
    assert sorted(h.number for h in found) == [opened[0], opened[3], opened[4]]
    # A filter narrows before the window: only closed tickets, one of them old and quiet.
    service.close(agent, _ticket(opened[1]))
    assert numbers(agent, "printer", status=CLOSED) == [opened[1]]
    assert search.search_tickets(agent, "printer", status=CLOSED).total == 1


def test_within_the_window_the_best_match_comes_first(agent, department):
    subject_match = service.open_ticket(agent, subject="Scanner broken", body_text="It makes noise.",
                                        requester_email="a@example.test", department=department).number
    body_match = service.open_ticket(agent, subject="Help", body_text="Our scanner is old.",
                                     requester_email="b@example.test", department=department).number

    found = search.search_tickets(agent, "scanner")

    assert [h.number for h in found] == [subject_match, body_match]
    assert found.total == 2 and found.ranked is None


def test_search_page_says_how_many_matched_and_which_were_ranked(app, client, agent, department):
    app.config["SEARCH_RANKED_WINDOW"] = 2
    _printer_tickets(agent, department, 3)
    log_in(client, "agent@example.test")

    page = client.get("/agent/search", query_string={"q": "printer"}).get_data(as_text=True)

    assert "3 tickets found" in page
    assert "The 2 best matches among the 2 most recently active of them." in page
    assert page.count('class="snippet"') >= 2


def _age(numbers_, days):
    """Make these tickets quiet for ``days`` (in the database and the index)."""
    when = utcnow() - timedelta(days=days)
    for number in numbers_:
        ticket = _ticket(number)
        ticket.created_at = ticket.updated_at = ticket.last_activity_at = when
    db.session.commit()
    search.index_tickets([_ticket(n).id for n in numbers_])


@pytest.fixture
def tiered(app):
    app.config.update(SEARCH_RECENT_DAYS=30, SEARCH_FULL_INDEX_POSTINGS=3)
    return app


def test_words_in_too_many_tickets_are_searched_among_the_recently_active(tiered, agent, department):
    opened = _printer_tickets(agent, department, 4)
    old = service.open_ticket(agent, subject="Printer from last year", body_text="A zeppelin printer.",
                              requester_email="old@example.test", department=department).number
    _age([old], days=60)

    common = search.search_tickets(agent, "printer", limit=3)
    assert common.recent_days == 30 and common.total == 4
    assert old not in [h.number for h in common] and len(common) == 3
    # A rarer word (under SEARCH_FULL_INDEX_POSTINGS) searches every ticket, the old one too.
    assert numbers(agent, "zeppelin") == [old]
    assert search.search_tickets(agent, "zeppelin").recent_days is None
    # When the recent tickets do not fill a page, every ticket is searched.
    everything = search.search_tickets(agent, "printer", limit=10)
    assert everything.recent_days is None and sorted(h.number for h in everything) == sorted([*opened, old])


def test_search_page_says_when_only_recent_tickets_were_searched(tiered, client, agent, department):
    tiered.config["SEARCH_FULL_INDEX_POSTINGS"] = 1
    for n in range(51):  # a page of results (50) must come from the recent tickets
        service.open_ticket(agent, subject=f"Toner {n}", body_text="Toner low.", requester_email=f"t{n}@example.test",
                            department=department)
    log_in(client, "agent@example.test")

    page = client.get("/agent/search", query_string={"q": "toner"}).get_data(as_text=True)

    assert "51 tickets found" in page
    assert "the tickets active in the last 30 days were searched" in page


def test_the_recent_tier_is_rebuilt_and_pruned(tiered, agent, department):
    opened = _printer_tickets(agent, department, 4)
    # As after an upgrade: an index with tickets, no tier. Writes start one, but it lacks the tickets
    # written before, so searches do not use it until a rebuild.
    shutil.rmtree(get_backend().recent_path(search.TICKETS))
    service.add_customer_message(SYSTEM, _ticket(opened[0]), body_text="Printer still jams.",
                                 author_email="p0@example.test")
    assert search.search_tickets(agent, "printer", limit=1).recent_days is None
    assert search.rebuild() == 4
    assert search.search_tickets(agent, "printer", limit=3).recent_days == 30

    # Two went quiet weeks ago; the tier still has them as they were then (as if indexed back then).
    when = utcnow() - timedelta(days=45)
    for number in opened[:2]:
        ticket = _ticket(number)
        ticket.created_at = ticket.updated_at = ticket.last_activity_at = when
    db.session.commit()
    stale = [search.document(_ticket(n)) for n in opened[:2]]
    whoosh = get_backend()
    with whoosh_backend._write_lock:
        writer = whoosh.open(whoosh.recent_path(search.TICKETS), search.TICKETS).writer()
        for document in stale:
            writer.update_document(**document)
        writer.commit()
    assert search.search_tickets(agent, "printer", limit=4).recent_days == 30
    # The next index write (at most once an hour) drops what is no longer recent.
    whoosh_backend._PRUNED.clear()
    service.add_customer_message(SYSTEM, _ticket(opened[3]), body_text="Still jammed.",
                                 author_email="p3@example.test")

    found = search.search_tickets(agent, "printer", limit=2)
    assert found.recent_days == 30 and found.total == 2
    assert sorted(h.number for h in found) == sorted(opened[2:])
