"""Every audit entry reads as a sentence in the reader's language, never as a code: every action the code base
records has a sentence (a new code without one fails here), unknown codes still read as sentences, and the
objects an entry names link to their page when the reader may open it."""
import ast
import re
from datetime import date
from pathlib import Path

import pytest

import helpdesk
from helpdesk import audit
from helpdesk.accounts import service as accounts
from helpdesk.actors import CLI, MAIL_GATEWAY, SYSTEM
from helpdesk.audit import sentences
from helpdesk.extensions import db
from helpdesk.kb import service as kb
from helpdesk.tickets import canned, departments, merge, service
from helpdesk.tickets.sla import admin as sla_admin
from tests.conftest import log_in

SOURCE = Path(helpdesk.__file__).parent


def _strings(node):
    """The string values an argument can take: a literal, or either side of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        both = [_strings(node.body), _strings(node.orelse)]
        return None if None in both else both[0] + both[1]
    return None


def recorded_actions():
    """(entity, action) of every ``audit.record(...)`` call in the helpdesk's source, and the calls whose
    entity or action is not written out (a test cannot know their codes)."""
    found, unreadable = set(), []
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"):
                continue
            entities, actions = _strings(node.args[1]), _strings(node.args[3])
            if entities is None or actions is None:
                unreadable.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
                continue
            found.update((e, a) for e in entities for a in actions)
    return found, unreadable


def test_every_action_the_code_base_records_has_a_sentence(app):
    found, unreadable = recorded_actions()
    assert unreadable == [], "write the entity and action of these audit.record calls as literals"
    assert len(found) > 50  # the scan reaches the domain packages
    missing = sorted(f"{entity}/{action}" for entity, action in found if not sentences.has_sentence(entity, action))
    assert missing == [], "register a sentence for these (see helpdesk/audit/sentences.py)"


# --------------------------------------------------------------------------- pages

@pytest.fixture
def admin(make_user):
    return make_user("admin", email="admin@example.test", full_name="Ada Admin")


def visible(page):
    """The audit table's text as a reader sees it: tags gone, links and isolated words read in line."""
    table = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"</?(a|bdi)\b[^>]*>", "", table)))


def every_code():
    found, _ = recorded_actions()
    return {entity for entity, _ in found} | {action for _, action in found}


def assert_no_raw_code(text):
    # Codes with a hyphen or underscore are never words; the old layouts were "entity #1: action" and "(action)".
    for code in every_code():
        if "-" in code or "_" in code:
            assert code not in text, code
        assert f"({code})" not in text and f": {code} " not in text, code
    assert not re.search(r"#\d+: ", text)


def _activity(agent, customer, department, admin):
    """Something of every kind the trail names, done through the services."""
    ticket = service.open_ticket(customer, subject="Printer on fire", body_text="Smoke.", department=department.id,
                                 acknowledge=False)
    other = service.open_ticket(customer, subject="Printer again", body_text="Still.", department=department.id,
                                acknowledge=False)
    service.add_internal_note(agent, ticket, body_text="Call the fire brigade.")
    merge.merge_ticket(agent, other, ticket)
    folder = kb.create_folder(admin, title="Servers")
    kb.create_folder(admin, title="Latest news")
    article = kb.create_article(admin, folder=folder, language="en", title="Restart a server",
                                body="Press the button.")
    kb.update_article(admin, article, language="de", title="Einen Server neu starten", body="Knopf drücken.")
    kb.publish(admin, article)
    kb.move_folder(admin, folder, "down")
    response = canned.create_response(admin, title="Greeting", body="Hello {{ customer_name }}")
    canned.update_response(admin, response, title="Greetings", body="Hello!")
    canned.delete_response(admin, response)
    sla_admin.add_holiday(admin, day=date(2031, 1, 1), name="New Year")
    accounts.send_password_reset(customer.email)
    accounts.update_profile(customer, customer, full_name="Carla C. Customer", timezone="Europe/Berlin")
    kb.set_editor(admin, agent, True)
    accounts.create_organisation(CLI, name="Acme")
    audit.record(MAIL_GATEWAY, "ticket", ticket.id, "events", {"types": ["bounce", "something-new"]})
    db.session.commit()
    return ticket, article, folder


@pytest.mark.parametrize("language", ["de", "fa"])
def test_the_whole_trail_shows_no_raw_code_in_german_or_persian(client, admin, agent, customer, department,
                                                                 language):
    _activity(agent, customer, department, admin)
    # And a row for every recorded code with nothing in its changes: each still reads as a sentence.
    for entity, action in sorted(recorded_actions()[0]):
        audit.record(SYSTEM, entity, None, action, {})
    db.session.commit()
    log_in(client, "admin@example.test")
    client.set_cookie("lang", language)
    response = client.get("/agent/admin/audit")
    assert response.status_code == 200
    assert f'lang="{language}"' in response.text
    text = visible(response.text)
    assert_no_raw_code(text)
    assert "mailgateway" not in text and "system:" not in text
    assert len(re.findall(r'class="sentence"', response.text)) >= 50


def test_entries_name_and_link_the_objects_they_are_about(client, admin, agent, customer, department):
    _ticket, article, folder = _activity(agent, customer, department, admin)
    log_in(client, "admin@example.test")
    page = client.get("/agent/admin/audit").text
    text = visible(page)
    assert "Asked for a password reset link for Carla C. Customer." in text
    assert "Changed the profile of Carla C. Customer: name, time zone." in text
    assert "Created the knowledge base folder “Servers”." in text
    assert "Edited the Deutsch text of the knowledge base article “Restart a server” (revision 2)." in text
    assert "Published the knowledge base article “Restart a server”." in text
    assert "Moved the knowledge base folder “Servers” down." in text
    assert "Created the canned response “Greeting”." in text  # deleted since: named by the words the row kept
    assert "Deleted the canned response “Greetings”." in text
    assert "Changed the canned response “Greetings”: title, text." in text
    assert "Added the holiday New Year on 2031-01-01." in text
    assert "Allowed Alex Agent to edit the knowledge base." in text
    assert "Created the organisation Acme." in text
    assert "Recorded events: a delivery failure, another event" in text
    assert "The helpdesk (mail gateway)" in text
    assert "The helpdesk (command line)" in text
    # Links to the objects an admin may open; a customer has no page in the console.
    assert re.search(rf'<a href="/agent/kb/articles/{article.id}"><bdi dir="auto">Restart a server</bdi></a>', page)
    assert re.search(rf'<a href="/agent/kb/folders/{folder.id}/edit"><bdi dir="auto">Servers</bdi></a>', page)
    assert re.search(rf'<a href="/agent/admin/agents/{agent.id}"><bdi dir="auto">Alex Agent</bdi></a>', page)
    assert f'href="/agent/admin/agents/{customer.id}"' not in page


def test_a_merged_tickets_history_links_the_other_ticket_only_for_agents_who_may_open_it(
        client, make_user, agent, customer, department):
    ticket = service.open_ticket(customer, subject="Printer", body_text="Smoke.", department=department.id,
                                 acknowledge=False)
    sales = departments.create_department(SYSTEM, name="Sales")
    elsewhere = service.open_ticket(customer, subject="Invoice", body_text="Wrong.", department=sales.id,
                                    acknowledge=False)
    admin = make_user("admin", email="admin@example.test", full_name="Ada Admin")
    merge.merge_ticket(admin, ticket, elsewhere)

    log_in(client, "agent@example.test")
    page = client.get(f"/agent/tickets/{ticket.number}/history").text
    assert f"Merged this ticket into ticket #{elsewhere.number}." in visible(page)
    assert f'href="/agent/tickets/{elsewhere.number}"' not in page  # Sales is not the agent's department

    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    log_in(client, "admin@example.test")
    page = client.get(f"/agent/tickets/{ticket.number}/history").text
    assert re.search(rf'href="/agent/tickets/{elsewhere.number}"><bdi dir="auto">{elsewhere.number}</bdi>', page)


def test_sla_calendar_changes_read_as_sentences(client, admin, department):
    from helpdesk.tickets.sla import calendar_admin

    night = calendar_admin.create_calendar(admin, name="Night shift", time_zone="Europe/Berlin")
    calendar_admin.add_window(admin, night.id, weekday=0, opens="22:00", closes="06:00")
    calendar_admin.assign_calendars(admin, {department.id: night.id})
    log_in(client, "admin@example.test")
    client.set_cookie("lang", "de")
    page = client.get("/agent/admin/audit").text
    text = visible(page)
    assert_no_raw_code(text)
    assert "SLA-Kalender Night shift angelegt." in text  # in German, as the reader asked
    assert "Zeitfenster Montag 22:00–06:00 zum SLA-Kalender Night shift hinzugefügt." in text
    assert "Abteilung Technical verwendet den SLA-Kalender Night shift." in text
    assert re.search(rf'<a href="/agent/admin/sla/calendars/{night.id}"><bdi dir="auto">Night shift</bdi></a>', page)


def test_a_code_without_a_sentence_still_reads_as_a_sentence(client, admin, agent, customer, department):
    folder = kb.create_folder(SYSTEM, title="Servers")
    audit.record(agent, "kb-folder", folder.id, "polished", {})
    audit.record(agent, "widget", 7, "spun", {})
    db.session.commit()
    log_in(client, "admin@example.test")
    text = visible(client.get("/agent/admin/audit").text)
    assert "Knowledge base folder Servers: an action recorded as “polished”." in text
    assert "An action recorded as “spun” on an object of the kind “widget” (#7)." in text
