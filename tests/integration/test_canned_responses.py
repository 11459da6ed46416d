"""Canned responses on both databases: admins manage them on their screens (agents cannot), placeholders are filled
in for the ticket at hand (unknown ones stay visible, braces in a customer's name stay harmless), and agents use
them on the workspace's reply form with and without JavaScript (the JSON endpoint and the "Use" button)."""
import re
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import canned, departments, service
from helpdesk.tickets.canned import CannedResponse
from tests.conftest import csrf_token, log_in

ADMIN_SCREENS = "/agent/admin/canned-responses/"


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="admin@example.test", full_name="Ada Admin")


@pytest.fixture
def billing():
    return departments.create_department(SYSTEM, name="Billing")


@pytest.fixture
def ticket(customer, department):
    return service.open_ticket(customer, subject="Mail does not arrive", body_text="No mail since Monday.",
                               department=department.id, acknowledge=False)


@pytest.fixture
def greeting(department):
    return canned.create_response(SYSTEM, title="Greeting", department=department.id,
                                  body="Hello {customer_name},\nabout ticket #{ticket_number} ({ticket_subject}).\n"
                                       "{agent_name}")


def reply_box(page):
    match = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S)
    return unescape(match.group(1)).strip() if match else None


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


# --------------------------------------------------------------------------- filling in placeholders

def test_placeholders_are_filled_in_for_the_ticket_and_the_agent(agent, ticket, greeting):
    text = canned.render_response(agent, ticket, greeting.id)

    assert text == (f"Hello Carla Customer,\nabout ticket #{ticket.number} (Mail does not arrive).\nAlex Agent")


def test_unknown_placeholders_stay_visible(agent, ticket, department):
    response = canned.create_response(SYSTEM, title="Odd", body="Dear {customer_name}, see {invoice} and {}.",
                                      department=department.id)

    assert canned.render_response(agent, ticket, response.id) == "Dear Carla Customer, see {invoice} and {}."


def test_braces_in_a_customers_name_are_not_expanded(agent, make_user, department, greeting):
    sly = make_user("customer", email="sly@example.test", full_name="{agent_name} {ticket_subject}")
    ticket = service.open_ticket(sly, subject="Secret subject", body_text="Hi.", department=department.id,
                                 acknowledge=False)

    text = canned.render_response(agent, ticket, greeting.id)

    assert text.startswith("Hello {agent_name} {ticket_subject},\n")


def test_responses_are_offered_for_the_tickets_department_and_for_all(agent, ticket, greeting, billing):
    everywhere = canned.create_response(SYSTEM, title="Thanks", body="Thank you!")
    canned.create_response(SYSTEM, title="Invoice copy", body="Attached.", department=billing.id)

    assert [r.title for r in canned.responses_for(agent, ticket)] == ["Greeting", "Thanks"]
    with pytest.raises(NotFound):
        canned.render_response(agent, ticket, db.session.scalar(
            sa.select(CannedResponse.id).where(CannedResponse.title == "Invoice copy")))
    assert canned.render_response(agent, ticket, everywhere.id) == "Thank you!"


# --------------------------------------------------------------------------- administration

def test_only_admins_manage_canned_responses(agent, greeting):
    with pytest.raises(NotAllowed):
        canned.create_response(agent, title="Mine", body="Text")
    with pytest.raises(NotAllowed):
        canned.update_response(agent, greeting, title="Changed", body="Text")
    with pytest.raises(NotAllowed):
        canned.delete_response(agent, greeting)


def test_every_field_error_is_reported_at_once(admin):
    with pytest.raises(ValidationFailed) as caught:
        canned.create_response(admin, title="  ", body="", department="12345")
    assert set(caught.value.errors) == {"title", "body", "department"}


def test_admin_adds_edits_and_deletes_a_response_on_the_screens(client, admin, department):
    log_in(client, "admin@example.test")
    form = client.get(ADMIN_SCREENS + "new").text
    assert "{customer_name}" in form  # the placeholders are explained

    created = client.post(ADMIN_SCREENS + "new", data={
        "csrf_token": csrf_token(form), "title": "Greeting", "body": "Hello {customer_name}",
        "department": str(department.id)})
    assert created.status_code == 302
    listing = client.get(ADMIN_SCREENS).text
    assert "Greeting" in listing and "Technical" in listing
    db.session.rollback()  # end the snapshot: the request committed in its own session
    response = db.session.scalar(sa.select(CannedResponse))
    assert (response.created_by_id, response.department_id) == (admin.id, department.id)

    edit_page = client.get(f"{ADMIN_SCREENS}{response.id}").text
    saved = client.post(f"{ADMIN_SCREENS}{response.id}", data={
        "csrf_token": csrf_token(edit_page), "title": "Welcome", "body": "Hi {customer_name}", "department": ""})
    assert saved.status_code == 302
    db.session.rollback()
    response = db.session.get(CannedResponse, response.id)
    assert (response.title, response.body, response.department_id) == ("Welcome", "Hi {customer_name}", None)
    assert "All departments" in client.get(ADMIN_SCREENS).text

    deleted = client.post(f"{ADMIN_SCREENS}{response.id}/delete", data={"csrf_token": csrf_token(edit_page)})
    assert deleted.status_code == 302
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CannedResponse)) == 0


def test_admin_screen_shows_errors_beside_the_fields(client, admin):
    log_in(client, "admin@example.test")
    form = client.get(ADMIN_SCREENS + "new").text

    answer = client.post(ADMIN_SCREENS + "new", data={"csrf_token": csrf_token(form), "title": "", "body": "",
                                                      "department": "999"})

    assert answer.status_code == 400
    assert field_error(answer.text, "title") == "Enter a title."
    assert field_error(answer.text, "body") == "Enter the text of the response."


def test_agents_do_not_reach_the_admin_screens(client, agent, greeting):
    log_in(client, "agent@example.test")

    assert client.get(ADMIN_SCREENS).status_code == 404
    assert client.get(f"{ADMIN_SCREENS}{greeting.id}").status_code == 404


# --------------------------------------------------------------------------- on the workspace

def test_workspace_lists_the_responses_for_the_tickets_department(client, agent, ticket, greeting, billing):
    canned.create_response(SYSTEM, title="Invoice copy", body="Attached.", department=billing.id)
    log_in(client, "agent@example.test")

    page = client.get(f"/agent/tickets/{ticket.number}").text

    assert "Greeting" in page and "Invoice copy" not in page


def test_use_button_without_javascript_puts_the_filled_in_text_after_what_was_written(client, agent, ticket,
                                                                                       greeting):
    log_in(client, "agent@example.test")
    page = client.get(f"/agent/tickets/{ticket.number}").text

    answer = client.post(f"/agent/tickets/{ticket.number}/reply/canned", data={
        "csrf_token": csrf_token(page), "body": "First line.", "canned": str(greeting.id)})

    assert answer.status_code == 200
    assert reply_box(answer.text) == (f"First line.\n\nHello Carla Customer,\nabout ticket #{ticket.number} "
                                      "(Mail does not arrive).\nAlex Agent")


def test_json_endpoint_renders_the_response_for_this_ticket(client, agent, ticket, greeting, billing):
    other = canned.create_response(SYSTEM, title="Invoice copy", body="Attached.", department=billing.id)
    log_in(client, "agent@example.test")

    answer = client.get(f"/agent/tickets/{ticket.number}/canned/{greeting.id}")

    assert answer.status_code == 200
    assert answer.json["text"].startswith("Hello Carla Customer,")
    assert client.get(f"/agent/tickets/{ticket.number}/canned/{other.id}").status_code == 404
