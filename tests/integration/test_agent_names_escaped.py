"""A name an admin gives an agent is text wherever it is shown: in the admin's messages, the "who else is looking"
notices, the queue, the ticket page and the history. Markup in it never reaches a page as markup."""
import pytest

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import departments, presence, service
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


NAMES = ['<img src=x onerror="alert(1)">', "<script>alert('x')</script>", "Eve</div><b>bold</b>",
         "&lt;already&gt; & <i>"]


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="root@example.test", full_name="Root Admin")


def _raw_markup_absent(page, name):
    return name not in page and "<img src=x" not in page and "<script>alert" not in page and "<b>bold" not in page


@pytest.mark.parametrize("name", NAMES)
def test_admin_messages_about_an_agent_show_the_name_as_text(client, admin, department, name):
    log_in(client, admin.email)
    page = client.get("/agent/admin/agents/new").text

    created = client.post("/agent/admin/agents/new", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "full_name": name, "email": "eve@example.test", "locale": "en",
        "role": "agent", "departments": [str(department.id)]})

    assert created.status_code == 200
    assert "was created" in created.text
    assert _raw_markup_absent(created.text, name)


@pytest.mark.parametrize("name", NAMES)
def test_agent_names_on_the_ticket_page_queue_and_history_are_text(client, make_user, agent, customer, department,
                                                                   name):
    eve = make_user("agent", email="eve@example.test", full_name=name)
    departments.add_agent_to_department(SYSTEM, department, eve)
    ticket = service.open_ticket(customer, subject="Printer", body_text="On fire.", department=department.id,
                                 acknowledge=False)
    service.assign(SYSTEM, ticket, eve)
    service.add_agent_reply(eve, ticket, body_text="Looking into it.")
    presence.record_presence(eve, ticket, presence.REPLYING)
    db.session.commit()
    log_in(client, agent.email)

    for path in (f"/agent/tickets/{ticket.number}", "/agent/", f"/agent/tickets/{ticket.number}/history"):
        page = client.get(path).text
        assert _raw_markup_absent(page, name), path
    page = client.get(f"/agent/tickets/{ticket.number}").text
    assert "is replying" in page

    notices = client.post(f"/agent/tickets/{ticket.number}/presence", json={"activity": "viewing"},
                          headers={"X-CSRFToken": csrf_token(page)}).json["notices"]
    assert notices == [f"{name} is replying"]  # JSON for presence.js, which sets it as text (textContent)
