"""The agent's ticket workspace at /agent/tickets/<number>, through the test client (on PostgreSQL): the whole
thread with internal notes (never shown to customers), replies reaching the requester and CCs by email, notes
sending nothing, the details form writing events, copies, and who may reach the page."""
import re
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import departments, service
from helpdesk.tickets.models import ANSWERED, INTERNAL_NOTE, OPEN, SYSTEM_EVENT, URGENT, WAITING, Message, Ticket
from helpdesk.tickets.service import NewAttachment
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


def workspace(number):
    return f"/agent/tickets/{number}"


def fresh(ticket):
    db.session.rollback()  # end the snapshot: the request committed in its own session
    return db.session.get(Ticket, ticket.id)


def messages(ticket, kind):
    db.session.rollback()
    return db.session.scalars(sa.select(Message).where(Message.ticket_id == ticket.id, Message.kind == kind)
                              .order_by(Message.id)).all()


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


def post(client, number, action, data, **kwargs):
    data = {"csrf_token": csrf_token(client.get(workspace(number)).text), **data}
    return client.post(f"{workspace(number)}/{action}", data=data, **kwargs)


@pytest.fixture
def ticket(customer, department):
    return service.open_ticket(customer, subject="Mail does not arrive", body_text="Since Monday no mail arrives.",
                               department=department.id, cc=["boss@example.test"], acknowledge=False)


@pytest.fixture
def as_agent(client, agent):
    log_in(client, "agent@example.test")
    return client


def test_agent_sees_the_whole_thread_with_internal_notes_marked(as_agent, agent, customer, ticket):
    service.add_agent_reply(agent, ticket, body_text="Please unplug it.")
    service.add_internal_note(agent, ticket, body_text="Secret: this customer owes us money.",
                              attachments=[NewAttachment("internal.txt", "text/plain", b"owed")])
    service.add_customer_message(customer, ticket, body_text=(
        "Unplugged, thanks.\n\nOn Tue, 24 Nov 2026 at 10:00, Alex Agent <agent@example.test> wrote:\n"
        "> Please unplug it.\n"))
    page = as_agent.get(workspace(ticket.number)).text

    assert "Since Monday no mail arrives." in page
    assert "Please unplug it." in page
    note = re.search(r'<div class="card message internal_note"[^>]*>(.*?)</div>\s*(?=<div class="card|<p class)',
                     page, re.S).group(1)
    assert "Internal note" in note and "Secret: this customer owes us money." in note
    assert "Status changed from Open to Answered." in page
    assert re.search(r'<details class="quoted">\s*<summary>Show quoted text</summary>\s*<pre dir="auto">On Tue', page)
    # Participants with their roles, and the customer side panel.
    assert re.search(r"carla@example\.test</bdi>\s*<span class=\"hint\">Requester", page)
    assert re.search(r"boss@example\.test</bdi>\s*<span class=\"hint\">In copy", page)

    # The note's attachment downloads for the agent, never for the customer.
    attachment_id = int(re.search(r'href="/attachments/(\d+)"[^>]*>internal\.txt', page).group(1))
    assert as_agent.get(f"/attachments/{attachment_id}").data == b"owed"
    as_agent.post("/logout", data={"csrf_token": csrf_token(page)})
    log_in(as_agent, "carla@example.test")
    assert as_agent.get(f"/attachments/{attachment_id}").status_code == 404
    customer_page = as_agent.get(f"/tickets/{ticket.number}").text
    assert "Please unplug it." in customer_page
    assert "Secret" not in customer_page and "Internal note" not in customer_page


def test_side_panel_lists_the_requesters_other_tickets_and_organisation(as_agent, customer, ticket, make_user):
    from helpdesk.accounts.models import Organisation

    organisation = Organisation(name="Carla's Bakery")
    db.session.add(organisation)
    customer.organisation = organisation
    db.session.commit()
    older = service.open_ticket(customer, subject="Invoice question", body_text="Where is it?", acknowledge=False)
    other = make_user("customer")
    service.open_ticket(other, subject="Someone else's ticket", body_text="Not Carla's.", acknowledge=False)
    page = as_agent.get(workspace(ticket.number)).text
    panel = page[page.index('id="customer"'):page.index('id="details"')]
    assert f'href="/agent/tickets/{older.number}"' in panel and "Invoice question" in panel
    assert "Someone else" not in panel and f">#{ticket.number}<" not in panel
    assert "Carla&#39;s Bakery" in panel and "carla@example.test" in panel


def test_queue_links_each_ticket_to_its_workspace(as_agent, ticket):
    assert f'href="/agent/tickets/{ticket.number}"' in as_agent.get("/agent/").text


def test_reply_is_emailed_to_requester_and_ccs_and_sets_the_chosen_status(as_agent, ticket, smtp):
    response = post(as_agent, ticket.number, "reply", {"body": "We fixed the mail server.",
                                                       "reply_status": WAITING})
    assert response.status_code == 302
    mail = smtp.wait_for(2)
    assert sorted(m["To"].addresses[0].addr_spec for m in mail) == ["boss@example.test", "carla@example.test"]
    assert all("We fixed the mail server." in m.get_body(("plain",)).get_content() for m in mail)
    assert fresh(ticket).status == WAITING


def test_reply_status_defaults_to_answered_and_takes_attachments(as_agent, ticket, smtp):
    page = as_agent.get(workspace(ticket.number)).text
    assert re.search(r'<option selected value="answered">|<option value="answered" selected>', page)
    response = as_agent.post(f"{workspace(ticket.number)}/reply", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "body": "The log is attached.", "reply_status": ANSWERED,
        "reply_attachments": [(__import__("io").BytesIO(b"all good"), "log.txt")]})
    assert response.status_code == 302
    mail = smtp.wait_for(2)
    assert any(part.get_filename() == "log.txt" for part in mail[0].iter_attachments())
    assert fresh(ticket).status == ANSWERED


def test_internal_note_is_never_emailed(as_agent, ticket, smtp):
    response = post(as_agent, ticket.number, "note", {"note": "Check the DNS first."})
    assert response.status_code == 302
    assert [m.body_text for m in messages(ticket, INTERNAL_NOTE)] == ["Check the DNS first."]
    assert smtp.wait_for(1, timeout=1.5) == []
    assert fresh(ticket).status == OPEN


def test_details_change_only_what_changed_and_write_system_events(as_agent, agent, ticket):
    response = post(as_agent, ticket.number, "details", {
        "status": OPEN, "priority": URGENT, "department": str(ticket.department_id), "assignee": str(agent.id)})
    assert response.status_code == 302
    changed = fresh(ticket)
    assert (changed.priority, changed.assignee_id, changed.status) == (URGENT, agent.id, OPEN)
    events = [m.event for m in messages(ticket, SYSTEM_EVENT)]
    assert {"type": "priority", "from": "normal", "to": URGENT} in events
    assert {"type": "assignee", "to": "Alex Agent"} in events
    assert not any(e["type"] == "status" for e in events)
    page = as_agent.get(workspace(ticket.number)).text
    assert "Priority changed from Normal to Urgent." in page and "Assigned to Alex Agent." in page


def test_details_without_a_change_change_nothing(as_agent, ticket):
    response = post(as_agent, ticket.number, "details", {
        "status": OPEN, "priority": "normal", "department": str(ticket.department_id), "assignee": ""},
        follow_redirects=True)
    assert "Nothing was changed." in response.text
    assert messages(ticket, SYSTEM_EVENT) == []


def test_assignee_choices_are_the_departments_agents_and_admins(as_agent, ticket, make_user):
    admin = make_user("admin", full_name="Ada Admin")
    outsider = make_user("agent", full_name="Otto Outsider")
    departments.create_department(SYSTEM, name="Billing")
    page = as_agent.get(workspace(ticket.number)).text
    menu = page[page.index('name="assignee"'):]
    menu = menu[:menu.index("</select>")]
    assert "Alex Agent" in menu and "Ada Admin" in menu and f'value="{admin.id}"' in menu
    # An agent of no department reaches every ticket, but is not one of this department's agents.
    assert "Otto Outsider" not in menu and f'value="{outsider.id}"' not in menu


def test_add_and_remove_copies(as_agent, ticket):
    response = post(as_agent, ticket.number, "cc", {"cc_addresses": "ann@example.test, bob@example.test"})
    assert response.status_code == 302
    assert {p.email for p in fresh(ticket).cc_participants} == {"boss@example.test", "ann@example.test",
                                                                 "bob@example.test"}
    response = post(as_agent, ticket.number, "cc/remove", {"email": "boss@example.test"})
    assert response.status_code == 302
    assert {p.email for p in fresh(ticket).cc_participants} == {"ann@example.test", "bob@example.test"}
    assert "boss@example.test was removed from copy." in as_agent.get(workspace(ticket.number)).text


def test_bad_input_is_answered_beside_the_field_and_nothing_changes(as_agent, ticket, smtp):
    before = len(messages(ticket, "agent_reply")), fresh(ticket).status
    response = post(as_agent, ticket.number, "reply", {"body": "  ", "reply_status": ANSWERED})
    assert response.status_code == 400
    assert field_error(response.text, "body") == "Enter a message."

    response = post(as_agent, ticket.number, "reply", {"body": "Kept text", "reply_status": "exploded"})
    assert response.status_code == 400
    assert field_error(response.text, "reply_status") == "Choose a valid status."
    assert re.search(r">\s*Kept text</textarea>", response.text)  # what was typed stays

    response = post(as_agent, ticket.number, "details", {"status": "exploded", "priority": URGENT,
                                                          "department": str(ticket.department_id), "assignee": ""})
    assert response.status_code == 400
    assert field_error(response.text, "status") == "Choose a valid status."
    response = post(as_agent, ticket.number, "details", {"status": OPEN, "priority": "whenever",
                                                          "department": str(ticket.department_id), "assignee": ""})
    assert response.status_code == 400
    assert field_error(response.text, "priority") == "Choose a valid priority."

    response = post(as_agent, ticket.number, "note", {"note": ""})
    assert response.status_code == 400
    assert field_error(response.text, "note") == "Enter a message."
    response = post(as_agent, ticket.number, "cc", {"cc_addresses": "not-an-address"})
    assert response.status_code == 302  # back on the ticket's page, the error and the address kept
    assert response.headers["Location"] == f"/agent/tickets/{ticket.number}#participants"
    page = as_agent.get(f"/agent/tickets/{ticket.number}").text
    assert field_error(page, "cc_addresses") == "not-an-address is not a valid email address."

    changed = fresh(ticket)
    assert (len(messages(ticket, "agent_reply")), changed.status) == before
    assert changed.priority == "normal" and messages(ticket, INTERNAL_NOTE) == []
    assert smtp.wait_for(1, timeout=1) == []


def test_every_action_needs_the_csrf_token(as_agent, ticket, smtp):
    for action, data in (("reply", {"body": "Hi", "reply_status": ANSWERED}), ("note", {"note": "Hi"}),
                         ("details", {"status": "closed", "priority": "normal", "department": "", "assignee": ""}),
                         ("cc", {"cc_addresses": "ann@example.test"}), ("cc/remove", {"email": "boss@example.test"})):
        assert as_agent.post(f"{workspace(ticket.number)}/{action}", data=data).status_code == 400, action
    changed = fresh(ticket)
    assert changed.status == OPEN and len(changed.messages) == 1 and len(changed.participants) == 2


def test_agent_outside_the_tickets_department_gets_404(client, ticket, make_user):
    billing = departments.create_department(SYSTEM, name="Billing")
    outsider = make_user("agent", email="otto@example.test")
    departments.add_agent_to_department(SYSTEM, billing, outsider)
    log_in(client, "otto@example.test")
    assert client.get(workspace(ticket.number)).status_code == 404
    page = client.get("/agent/").text
    response = client.post(f"{workspace(ticket.number)}/note", data={"csrf_token": csrf_token(page), "note": "x"})
    assert response.status_code == 404
    assert messages(ticket, INTERNAL_NOTE) == []


def test_customers_get_404_and_anonymous_visitors_the_login_page(client, customer, ticket):
    response = client.get(workspace(ticket.number))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    log_in(client, "carla@example.test")
    assert client.get(workspace(ticket.number)).status_code == 404
    page = client.get(f"/tickets/{ticket.number}").text
    response = client.post(f"{workspace(ticket.number)}/reply",
                           data={"csrf_token": csrf_token(page), "body": "I am an agent now", "reply_status": "closed"})
    assert response.status_code == 404
    assert messages(ticket, "agent_reply") == []


def test_unknown_ticket_is_404(as_agent):
    assert as_agent.get(workspace(999999)).status_code == 404
