"""Search behind one interface: tickets and knowledge base articles share one folding, visibility comes from
the access rules, jobs queued under the old knowledge base path still run, and SEARCH_BACKEND decides which
backend every caller reaches."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.jobs import run_task
from helpdesk.kb import service as kb
from helpdesk.kb.models import PUBLIC
from helpdesk.search import articles, backend
from helpdesk.search import index as search
from helpdesk.tickets import access, departments, service
from helpdesk.tickets.models import Ticket


@pytest.fixture
def editor(make_user):
    return kb.set_editor(SYSTEM, make_user("agent", email="editor@example.test"), True)


@pytest.fixture
def folder(editor):
    return kb.create_folder(editor, title="Printers", visibility=PUBLIC)


def ticket_numbers(actor, text):
    return [hit.number for hit in search.search_tickets(actor, text)]


def article_ids(text, language="fa"):
    return [hit.article.id for hit in articles.search_articles(None, text, language=language)]


@pytest.mark.parametrize(("written", "typed"), [
    ("خطای ۴۰۴ در چاپگر", "404"),  # Persian digits, typed in ASCII
    ("خطای 404 در چاپگر", "۴۰۴"),  # ASCII digits, typed in Persian
    ("خطای ٤٠٤ در چاپگر", "۴۰۴"),  # Arabic-Indic digits, typed in Persian
    ("چاپگر كار نمي‌كند", "کار نمیکند"),  # Arabic kaf and yeh, typed with Persian ones
    ("چاپگر کار نمیکند", "كار نمي‌كند"),  # and the other way round
])
def test_a_ticket_and_an_article_are_found_in_another_digit_script_or_letter_form(agent, department, editor,
                                                                                  folder, written, typed):
    ticket = service.open_ticket(agent, subject=written, body_text="لطفاً کمک کنید", department=department,
                                 requester_email="kunde@example.test")
    article = kb.create_article(editor, folder=folder, language="fa", title=written, body="راهنمای چاپگر",
                                publish=True)

    assert ticket_numbers(agent, typed) == [ticket.number]
    assert article_ids(typed) == [article.id]


def test_a_change_to_the_access_rule_applies_to_search(monkeypatch, make_user, agent, department):
    in_department = service.open_ticket(agent, subject="Printer jammed", body_text="x", department=department,
                                        requester_email="a@example.test").number
    without_department = service.open_ticket(agent, subject="Printer smokes", body_text="x",
                                             requester_email="b@example.test").number
    assert sorted(ticket_numbers(agent, "printer")) == sorted([in_department, without_department])

    original = access.visible_tickets

    def only_own_departments(actor):  # a stricter rule: tickets without a department are for admins
        if actor.is_agent and not actor.is_admin:
            return sa.select(Ticket).where(Ticket.department_id.in_([d.id for d in actor.departments]))
        return original(actor)

    monkeypatch.setattr(access, "visible_tickets", only_own_departments)

    found = search.search_tickets(agent, "printer")
    assert [hit.number for hit in found] == [in_department] and found.total == 1
    admin = make_user("admin")
    assert sorted(ticket_numbers(admin, "printer")) == sorted([in_department, without_department])


def test_an_agent_outside_the_department_finds_neither_hits_nor_a_count(make_user, agent, department):
    service.open_ticket(agent, subject="Printer jammed", body_text="x", department=department,
                        requester_email="a@example.test")
    billing = departments.create_department(SYSTEM, name="Billing")
    outsider = make_user("agent", email="olga@example.test")
    departments.add_agent_to_department(SYSTEM, billing, outsider)

    found = search.search_tickets(outsider, "printer")

    assert list(found) == [] and found.total == 0


def test_a_customer_finds_their_own_and_their_organisations_tickets_only(make_user, agent, department):
    shared = accounts.create_organisation(SYSTEM, name="Acme", share_tickets=True)
    carla = make_user("customer", email="carla@example.test", organisation=shared)
    make_user("customer", email="colleague@example.test", organisation=shared)
    make_user("customer", email="stranger@example.test")
    own, colleagues, strangers = (
        service.open_ticket(agent, subject=f"Printer {who}", body_text="x", department=department,
                            requester_email=email).number
        for who, email in (("own", "carla@example.test"), ("colleague", "colleague@example.test"),
                           ("stranger", "stranger@example.test")))

    assert sorted(ticket_numbers(carla, "printer")) == sorted([own, colleagues])
    assert strangers in ticket_numbers(agent, "printer")


def test_a_job_queued_under_the_old_knowledge_base_path_still_indexes(app, editor, folder):
    article = kb.create_article(editor, folder=folder, language="en", title="Replacing the toner", body="Open it.",
                                publish=True)
    backend.get_backend().rebuild(articles.ARTICLES, [])  # as if the index missed the article
    assert article_ids("toner", "en") == []

    run_task("helpdesk.kb.tasks.reindex_articles", article.id, app=app)

    assert article_ids("toner", "en") == [article.id]


class RecordingBackend(backend.SearchBackend):
    """A second backend, as SEARCH_BACKEND would name one: it finds nothing and records what it is asked."""

    calls = []

    def put(self, collection, documents, delete=(), by=None):
        self.calls.append(("put", collection.name))

    def search(self, collection, request):
        self.calls.append(("search", collection.name, request.text))
        return backend.Found()


def test_search_backend_setting_decides_which_backend_every_caller_reaches(app_factory, smtp, monkeypatch):
    monkeypatch.setitem(backend.BACKENDS, "recording", f"{__name__}:RecordingBackend")
    RecordingBackend.calls.clear()
    other = app_factory(SEARCH_BACKEND="recording")
    with other.app_context():
        agent = accounts.create_user(SYSTEM, email="r@example.test", full_name="R", role="agent",
                                     password="correct horse battery")
        service.open_ticket(agent, subject="Printer", body_text="x", requester_email="k@example.test")

        assert search.search_tickets(agent, "printer") == []
        assert articles.search_articles(agent, "toner", language="en") == []
    assert ("put", "tickets") in RecordingBackend.calls
    assert ("search", "tickets", "printer") in RecordingBackend.calls
    assert ("search", "articles", "toner") in RecordingBackend.calls


def test_an_unknown_search_backend_is_refused_by_name(app_factory, smtp):
    other = app_factory(SEARCH_BACKEND="elastic")
    with other.app_context(), pytest.raises(RuntimeError, match="elastic"):
        backend.get_backend()
