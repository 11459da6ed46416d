"""Submitting and tracking tickets in the portal, through the test client (on PostgreSQL): the ticket form
for guests and customers, my tickets, a ticket's page and its actions, attachment downloads, organisation
sharing, and that nobody reaches someone else's ticket."""
import io
import re
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.tickets import access, service
from helpdesk.tickets.models import CC, CLOSED, OPEN, Ticket
from helpdesk.tickets.service import NewAttachment
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


ATTACHMENT_LIMIT = 2048
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def app(app_factory, smtp):
    """Attachments are capped at 2 KiB so an oversized one is cheap to make."""
    app = app_factory(MAX_ATTACHMENT_BYTES=ATTACHMENT_LIMIT)
    with app.app_context():
        yield app
        db.session.remove()


def token(client, path="/"):
    return csrf_token(client.get(path).text)


def guest_form(**overrides):
    data = {"email": "gina@guest.example", "full_name": "Gina Guest", "company": "Guest GmbH",
            "subject": "Printer on fire", "description": "It smokes since this morning.", "priority": "high",
            "department": "", "problem_timezone": "Europe/Berlin", "privacy": "y"}
    data.update(overrides)
    return data


def submit(client, data, files=None):
    data = {"csrf_token": token(client, "/tickets/new"), **data}
    if files is not None:
        data["attachments"] = files
    return client.post("/tickets/new", data=data, content_type="multipart/form-data")


def only_ticket():
    db.session.rollback()  # end the snapshot: the request committed in its own session
    return db.session.scalars(sa.select(Ticket)).one()


def ticket_count():
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


def input_value(page, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    return unescape(match.group(1)) if match else None


def open_ticket_for(user, subject="Mail does not arrive", body="Since Monday no mail arrives.", **kwargs):
    return service.open_ticket(user, subject=subject, body_text=body, **kwargs)


# --------------------------------------------------------------------------- the menu and the form

def test_menu_offers_the_ticket_form_to_everyone_and_my_tickets_to_customers(client, customer):
    page = client.get("/").text
    assert 'href="/tickets/new"' in page and "Submit a ticket" in page
    assert 'href="/tickets"' not in page
    log_in(client, "carla@example.test")
    page = client.get("/").text
    assert 'href="/tickets/new"' in page
    assert 'href="/tickets"' in page and "My tickets" in page


def test_guest_submits_a_ticket_with_details_and_an_attachment(client, department, smtp):
    response = submit(client, guest_form(
        department=str(department.id), customer_number="K-1042", reference="Order 7781",
        server_ip=" 203.0.113.7 ", problem_started="2026-11-20T09:30",
    ), files=[(io.BytesIO(b"log line 1\nlog line 2\n"), "server.log", "text/plain")])

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    ticket = only_ticket()
    start_page = client.get("/").text
    assert f"Ticket #{ticket.number} created; we sent you a confirmation email" in start_page

    assert (ticket.subject, ticket.priority, ticket.department_id) == ("Printer on fire", "high", department.id)
    assert ticket.requester.email == "gina@guest.example"
    assert ticket.requester.full_name == "Gina Guest"
    # The consent ticked on the form is kept, with when and which policy version.
    assert ticket.requester.consent_at is not None
    assert ticket.requester.consent_policy_version == client.application.config["PRIVACY_POLICY_VERSION"]
    first = ticket.messages[0]
    # The details are fields of the ticket (tickets/details.py), not text in the message.
    assert first.body_text == "It smokes since this morning."
    details = ticket.details
    assert (details.company_name, details.customer_number, details.reference, details.server_ip) == (
        "Guest GmbH", "K-1042", "Order 7781", "203.0.113.7")
    assert details.problem_started_at.isoformat() == "2026-11-20T08:30:00+00:00"
    assert details.problem_timezone == "Europe/Berlin"
    assert [(a.filename, a.size) for a in first.attachments] == [("server.log", 22)]

    mail = smtp.wait_for(1)
    assert len(mail) == 1
    assert mail[0]["To"].addresses[0].addr_spec == "gina@guest.example"
    assert f"[#{ticket.number}]" in str(mail[0]["Subject"])


def test_optional_details_left_out_leave_only_the_company_in_the_details(client):
    assert submit(client, guest_form()).status_code == 302
    ticket = only_ticket()
    assert ticket.messages[0].body_text == "It smokes since this morning."
    details = ticket.details
    assert details.company_name == "Guest GmbH"
    assert (details.reference, details.server_ip, details.problem_started_at, details.problem_timezone,
            details.diagnostics, details.customer_number) == (None, None, None, None, None, None)
    assert ticket.priority == "high" and ticket.department is None


def test_guest_form_reports_every_missing_field_and_keeps_what_was_typed(client):
    response = submit(client, {"subject": "Half a form", "email": "not-an-address", "server_ip": "300.1.2.3",
                               "problem_started": "yesterday", "priority": "normal",
                               "problem_timezone": "Europe/Berlin"})
    assert response.status_code == 400
    page = response.text
    assert field_error(page, "email") == "Enter a valid email address."
    assert field_error(page, "full_name") == "Enter your name."
    assert field_error(page, "company") == "Enter the company name."
    assert field_error(page, "description") == "Describe the problem."
    assert field_error(page, "server_ip") == "Enter an IPv4 or IPv6 address, such as 203.0.113.7."
    assert field_error(page, "problem_started") == "Enter a date and time, such as 2026-11-24 09:30."
    assert field_error(page, "privacy") == "Please agree to the privacy policy."
    assert field_error(page, "subject") is None
    assert input_value(page, "subject") == "Half a form"
    assert input_value(page, "email") == "not-an-address"
    assert input_value(page, "server_ip") == "300.1.2.3"
    assert 'aria-invalid="true"' in page
    assert ticket_count() == 0


def test_problem_time_in_the_future_or_an_unknown_time_zone_is_refused(client):
    future = submit(client, guest_form(problem_started="2999-01-01T10:00"))
    assert field_error(future.text, "problem_started") == "That time is in the future."
    zone = submit(client, guest_form(problem_started="2026-11-20T10:00", problem_timezone="Mars/Olympus"))
    assert field_error(zone.text, "problem_timezone") is not None
    assert ticket_count() == 0


@pytest.mark.parametrize("filename, data", [
    ("setup.exe", b"MZ\x90\x00 a program"),
    ("run.bat", b"@echo off"),
    ("tracker.js", b"alert(1)"),
    ("screensaver.scr", b"whatever"),
    ("invoice.pdf.exe", b"%PDF-1.4"),
    ("invoice.pdf", b"MZ\x90\x00 a program with a harmless name"),
])
def test_programs_are_refused_as_attachments(client, filename, data):
    response = submit(client, guest_form(), files=[(io.BytesIO(data), filename, "application/octet-stream")])
    assert response.status_code == 400
    assert field_error(response.text, "attachments") == f"{filename}: programs and scripts cannot be attached."
    assert input_value(response.text, "subject") == "Printer on fire"
    assert ticket_count() == 0


def test_every_bad_attachment_gets_its_own_error(client):
    response = submit(client, guest_form(), files=[
        (io.BytesIO(b"x" * (ATTACHMENT_LIMIT + 1)), "huge.txt", "text/plain"),
        (io.BytesIO(b"ok"), "fine.txt", "text/plain"),
        (io.BytesIO(b"@echo off"), "run.cmd", "text/plain"),
    ])
    assert response.status_code == 400
    assert "huge.txt is larger than the limit of 0 MB." in response.text
    assert "run.cmd: programs and scripts cannot be attached." in response.text
    assert ticket_count() == 0


def test_logged_in_customer_does_not_retype_name_email_or_company(client, customer, smtp):
    log_in(client, "carla@example.test")
    page = client.get("/tickets/new").text
    assert 'name="email"' not in page and 'name="full_name"' not in page and 'name="company"' not in page
    assert "carla@example.test" in page
    response = submit(client, {"subject": "VPN drops", "description": "Every ten minutes.", "priority": "normal",
                               "department": "", "problem_timezone": "UTC"})
    assert response.status_code == 302
    ticket = only_ticket()
    assert ticket.requester_id == customer.id
    assert ticket.messages[0].author_id == customer.id
    assert smtp.wait_for(1)[0]["To"].addresses[0].addr_spec == "carla@example.test"


def test_ticket_form_needs_the_csrf_token(client):
    response = client.post("/tickets/new", data=guest_form())
    assert response.status_code == 400
    assert ticket_count() == 0


def test_department_must_be_one_that_exists(client):
    response = submit(client, guest_form(department="99999"))
    assert response.status_code == 400
    assert field_error(response.text, "department") is not None


# --------------------------------------------------------------------------- my tickets

def test_my_tickets_lists_newest_activity_first_with_status_and_department(client, customer, department, agent):
    older = open_ticket_for(customer, subject="Older one", department=department)
    open_ticket_for(customer, subject="Newer one")
    service.add_agent_reply(agent, older, body_text="We are on it.")  # now the most recent activity
    log_in(client, "carla@example.test")
    page = client.get("/tickets").text
    assert page.index("Older one") < page.index("Newer one")
    assert f'href="/tickets/{older.number}"' in page
    row = page[page.index("Older one"):page.index("Newer one")]
    assert "Answered" in row and "Technical" in row


def test_my_tickets_filters_open_and_closed(client, customer):
    open_ticket_for(customer, subject="Still open")
    done = open_ticket_for(customer, subject="All done")
    service.close(customer, done)
    log_in(client, "carla@example.test")
    assert "Still open" in client.get("/tickets?status=open").text
    assert "All done" not in client.get("/tickets?status=open").text
    closed = client.get("/tickets?status=closed").text
    assert "All done" in closed and "Still open" not in closed
    everything = client.get("/tickets").text
    assert "All done" in everything and "Still open" in everything


def test_my_tickets_shows_twenty_per_page(client, customer):
    for n in range(21):
        open_ticket_for(customer, subject=f"Question number {n:02d}", acknowledge=False)
    log_in(client, "carla@example.test")
    first = client.get("/tickets").text
    assert first.count('<tr>\n          <td><a href="/tickets/') == 20
    assert "Question number 20" in first and "Question number 00" not in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/tickets?page=2").text
    assert "Question number 00" in second and "Question number 20" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_guests_have_no_online_view_of_tickets(client, customer):
    ticket = open_ticket_for(customer, attachments=[NewAttachment("a.txt", "text/plain", b"hello")])
    attachment_id = ticket.messages[0].attachments[0].id
    for path in ("/tickets", f"/tickets/{ticket.number}", f"/attachments/{attachment_id}"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path


# --------------------------------------------------------------------------- a ticket's page

def test_ticket_page_shows_the_public_thread_events_attachments_and_participants(client, customer, agent):
    ticket = open_ticket_for(customer, body="The printer smokes.", cc=["boss@example.test"],
                             attachments=[NewAttachment("photo.png", "image/png", PNG)])
    service.add_agent_reply(agent, ticket, body_text="Please unplug it.")
    service.add_internal_note(agent, ticket, body_text="Secret: this customer owes us money.",
                              attachments=[NewAttachment("internal.txt", "text/plain", b"internal")])
    service.add_customer_message(customer, ticket, body_text=(
        "Unplugged, thanks.\n\nOn Tue, 24 Nov 2026 at 10:00, Alex Agent <agent@example.test> wrote:\n"
        "> Please unplug it.\n"))
    service.record_events(SYSTEM, ticket, [{"type": "auto-reply", "from": "ooo@example.test",
                                            "subject": "Out of office"}])
    log_in(client, "carla@example.test")
    page = client.get(f"/tickets/{ticket.number}").text

    assert "The printer smokes." in page and "Please unplug it." in page and "Unplugged, thanks." in page
    assert "Secret" not in page and "internal.txt" not in page
    assert "Status changed from Open to Answered." in page
    assert "Status changed from Answered to Open." in page
    assert "An automatic reply from ooo@example.test was received: Out of office" in page
    quoted = re.search(r'<details class="quoted">.*?</details>', page, re.S).group(0)
    assert "wrote:" in quoted and "&gt; Please unplug it." in quoted
    attachment = ticket.messages[0].attachments[0]
    assert f'href="/attachments/{attachment.id}"' in page and "photo.png" in page
    assert "boss@example.test" in page and "carla@example.test" in page
    assert "-- \nThe support team" not in page


def test_html_bodies_are_shown_sanitised(client, customer):
    ticket = service.open_ticket(customer, subject="Formatted", body_html=(
        '<p>Hello <strong>team</strong></p><script>alert(1)</script><img src="https://tracker.example/p.gif">'))
    log_in(client, "carla@example.test")
    page = client.get(f"/tickets/{ticket.number}").text
    assert "<strong>team</strong>" in page
    assert "alert(1)" not in page and "tracker.example" not in page


def test_agents_use_the_staff_console_not_the_portal_ticket_pages(client, customer, agent):
    ticket = open_ticket_for(customer)
    log_in(client, "agent@example.test")
    assert client.get(f"/tickets/{ticket.number}").status_code == 404
    assert client.get("/tickets").status_code == 404


# --------------------------------------------------------------------------- attachments

def test_attachment_downloads_are_attachments_with_a_safe_type(client, customer):
    ticket = open_ticket_for(customer, attachments=[
        NewAttachment("photo.png", "image/png", PNG),
        NewAttachment("page.html", "text/html", b"<script>alert(1)</script>"),
        NewAttachment("vector.svg", "image/svg+xml", b"<svg onload='alert(1)'/>"),
    ])
    png, html, svg = ticket.messages[0].attachments
    log_in(client, "carla@example.test")

    response = client.get(f"/attachments/{png.id}")
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == "attachment; filename=photo.png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for risky in (html, svg):
        response = client.get(f"/attachments/{risky.id}")
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment;")


def test_inline_images_of_an_html_message_load_for_the_owner(client, customer):
    ticket = service.open_ticket(customer, subject="Screenshot", body_html='<p>See:</p><img src="cid:shot@x">',
                                 attachments=[NewAttachment("shot.png", "image/png", PNG, content_id="shot@x")])
    image = ticket.messages[0].attachments[0]
    log_in(client, "carla@example.test")
    page = client.get(f"/tickets/{ticket.number}").text
    assert f'<img src="/attachments/{image.id}"' in page
    response = client.get(f"/attachments/{image.id}")
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"


def test_internal_note_attachments_are_never_served_to_customers(client, customer, agent):
    ticket = open_ticket_for(customer)
    note = service.add_internal_note(agent, ticket, body_text="See the file.",
                                     attachments=[NewAttachment("internal.txt", "text/plain", b"internal")])
    attachment_id = note.attachments[0].id
    log_in(client, "carla@example.test")
    assert client.get(f"/attachments/{attachment_id}").status_code == 404
    with pytest.raises(NotFound):
        access.get_attachment(customer, attachment_id)
    assert access.get_attachment(agent, attachment_id).filename == "internal.txt"


# --------------------------------------------------------------------------- actions on a ticket

def post_action(client, ticket, action, data=None, files=None):
    data = {"csrf_token": token(client, f"/tickets/{ticket.number}"), **(data or {})}
    if files is not None:
        data.update(files)
    return client.post(f"/tickets/{ticket.number}/{action}", data=data, content_type="multipart/form-data")


def test_customer_replies_with_an_attachment(client, customer, agent):
    ticket = open_ticket_for(customer)
    service.add_agent_reply(agent, ticket, body_text="Which version?")
    log_in(client, "carla@example.test")
    response = post_action(client, ticket, "reply", {"body": "Version 4.2"},
                           {"reply_attachments": [(io.BytesIO(b"trace"), "trace.txt", "text/plain")]})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/tickets/{ticket.number}"
    db.session.rollback()  # end the snapshot: the request committed in its own session
    last = [m for m in ticket.messages if m.kind == "customer"][-1]
    assert last.body_text == "Version 4.2" and last.author_id == customer.id
    assert [a.filename for a in last.attachments] == ["trace.txt"]
    assert ticket.status == OPEN
    page = client.get(f"/tickets/{ticket.number}").text
    assert "Your reply was added." in page and "trace.txt" in page


def test_empty_reply_shows_the_error_beside_the_field(client, customer):
    ticket = open_ticket_for(customer)
    log_in(client, "carla@example.test")
    response = post_action(client, ticket, "reply", {"body": "  "},
                           {"reply_attachments": [(io.BytesIO(b"MZ..."), "tool.exe", "application/octet-stream")]})
    assert response.status_code == 400
    assert field_error(response.text, "body") == "Enter a message."
    assert field_error(response.text, "reply_attachments") == "tool.exe: programs and scripts cannot be attached."
    assert len(ticket.messages) == 1


def test_customer_adds_several_ccs_and_removes_one(client, customer):
    ticket = open_ticket_for(customer)
    log_in(client, "carla@example.test")
    response = post_action(client, ticket, "cc", {"cc_addresses": "dora@example.test, eve@example.test"})
    assert response.status_code == 302
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert sorted(p.email for p in ticket.participants if p.role == CC) == ["dora@example.test", "eve@example.test"]
    page = client.get(f"/tickets/{ticket.number}").text
    assert "Added in copy: dora@example.test, eve@example.test" in page
    assert "dora@example.test was added in copy." in page

    response = post_action(client, ticket, "cc/remove", {"email": "eve@example.test"})
    assert response.status_code == 302
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert [p.email for p in ticket.participants if p.role == CC] == ["dora@example.test"]
    assert "eve@example.test was removed from copy." in client.get(f"/tickets/{ticket.number}").text


def test_invalid_cc_address_is_refused_beside_the_field_and_kept(client, customer):
    ticket = open_ticket_for(customer)
    log_in(client, "carla@example.test")
    response = post_action(client, ticket, "cc", {"cc_addresses": "dora@example.test, not an address"})
    # Back on the ticket's page (not left on /cc), the error beside the field and the addresses as typed.
    assert response.status_code == 302
    assert response.headers["Location"] == f"/tickets/{ticket.number}#participants"
    page = client.get(f"/tickets/{ticket.number}").text
    assert field_error(page, "cc_addresses").endswith("is not a valid email address.")
    assert input_value(page, "cc_addresses") == "dora@example.test, not an address"
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert [p for p in ticket.participants if p.role == CC] == []
    # Shown once: the next view of the page is a fresh form.
    again = client.get(f"/tickets/{ticket.number}").text
    assert field_error(again, "cc_addresses") is None and not input_value(again, "cc_addresses")


def test_the_requester_cannot_be_removed(client, customer):
    ticket = open_ticket_for(customer)
    log_in(client, "carla@example.test")
    response = post_action(client, ticket, "cc/remove", {"email": "carla@example.test"})
    assert response.status_code == 302
    assert "The requester cannot be removed." in client.get(f"/tickets/{ticket.number}").text


def test_customer_edits_subject_priority_and_department(client, customer, department):
    ticket = open_ticket_for(customer)
    log_in(client, "carla@example.test")
    response = post_action(client, ticket, "edit", {"subject": "Mail stuck in queue", "priority": "urgent",
                                                    "department": str(department.id)})
    assert response.status_code == 302
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert (ticket.subject, ticket.priority, ticket.department_id) == ("Mail stuck in queue", "urgent",
                                                                       department.id)
    page = client.get(f"/tickets/{ticket.number}").text
    assert "Priority changed from Normal to Urgent." in page
    assert "Department set to Technical." in page


def test_editing_with_an_empty_subject_keeps_the_form_and_changes_nothing(client, customer):
    ticket = open_ticket_for(customer)
    log_in(client, "carla@example.test")
    response = post_action(client, ticket, "edit", {"subject": "", "priority": "low", "department": ""})
    assert response.status_code == 400
    assert field_error(response.text, "subject") == "Enter a subject."
    assert re.search(r'<option selected value="low">|<option value="low" selected>', response.text)
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert ticket.priority == "normal"


def test_customer_closes_and_reopens(client, customer):
    ticket = open_ticket_for(customer)
    log_in(client, "carla@example.test")
    assert post_action(client, ticket, "close").status_code == 302
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert ticket.status == CLOSED
    page = client.get(f"/tickets/{ticket.number}").text
    assert "The ticket is closed." in page and "Reopen the ticket" in page
    assert post_action(client, ticket, "close").status_code == 302
    assert "This ticket is already closed." in client.get(f"/tickets/{ticket.number}").text
    assert post_action(client, ticket, "reopen").status_code == 302
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert ticket.status == OPEN
    assert "Status changed from Closed to Open." in client.get(f"/tickets/{ticket.number}").text


@pytest.mark.parametrize("action, data", [
    ("reply", {"body": "Hello"}), ("cc", {"cc_addresses": "x@example.test"}),
    ("cc/remove", {"email": "x@example.test"}), ("edit", {"subject": "S", "priority": "low", "department": ""}),
    ("close", {}), ("reopen", {}),
])
def test_every_action_needs_the_csrf_token(client, customer, action, data):
    ticket = open_ticket_for(customer)
    log_in(client, "carla@example.test")
    response = client.post(f"/tickets/{ticket.number}/{action}", data=data)
    assert response.status_code == 400
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert len(ticket.messages) == 1 and ticket.status == OPEN


# --------------------------------------------------------------------------- other people's tickets

def test_customer_gets_not_found_for_another_customers_ticket_and_everything_on_it(client, customer, make_user):
    other = make_user("customer", email="bob@example.test", full_name="Bob Other")
    theirs = open_ticket_for(other, subject="Bob's secret", cc=["bobs-cc@example.test"],
                             attachments=[NewAttachment("bob.txt", "text/plain", b"bob")])
    attachment_id = theirs.messages[0].attachments[0].id
    log_in(client, "carla@example.test")

    assert client.get(f"/tickets/{theirs.number}").status_code == 404
    assert client.get(f"/attachments/{attachment_id}").status_code == 404
    assert "Bob's secret" not in client.get("/tickets").text
    for action, data in (("reply", {"body": "Hi"}), ("cc", {"cc_addresses": "carla@example.test"}),
                         ("cc/remove", {"email": "bobs-cc@example.test"}),
                         ("edit", {"subject": "Mine now", "priority": "low", "department": ""}),
                         ("close", {}), ("reopen", {})):
        assert post_action(client, theirs, action, data).status_code == 404, action
    db.session.rollback()  # end the snapshot: the request committed in its own session
    assert theirs.subject == "Bob's secret" and theirs.status == OPEN and len(theirs.messages) == 1
    assert sorted(p.email for p in theirs.participants) == ["bob@example.test", "bobs-cc@example.test"]
    assert client.get("/tickets/999999").status_code == 404
    assert client.get("/attachments/999999").status_code == 404


def test_organisation_members_see_each_others_tickets_only_when_sharing_is_on(client, make_user):
    sharing = accounts.create_organisation(SYSTEM, name="Sharing Ltd", share_tickets=True)
    private = accounts.create_organisation(SYSTEM, name="Private Ltd")
    ann = make_user("customer", email="ann@sharing.example", organisation=sharing)
    make_user("customer", email="ben@sharing.example", organisation=sharing)
    pia = make_user("customer", email="pia@private.example", organisation=private)
    make_user("customer", email="pat@private.example", organisation=private)
    shared = open_ticket_for(ann, subject="Shared with colleagues")
    hidden = open_ticket_for(pia, subject="Kept to myself")

    log_in(client, "ben@sharing.example")
    assert "Shared with colleagues" in client.get("/tickets").text
    assert client.get(f"/tickets/{shared.number}").status_code == 200
    assert client.get(f"/tickets/{hidden.number}").status_code == 404

    client.post("/logout", data={"csrf_token": token(client)})
    log_in(client, "pat@private.example")
    assert "Kept to myself" not in client.get("/tickets").text
    assert client.get(f"/tickets/{hidden.number}").status_code == 404


def test_guest_who_registers_later_finds_their_earlier_tickets(client):
    assert submit(client, guest_form(email="Gina@Guest.example")).status_code == 302
    number = only_ticket().number
    accounts.create_user(SYSTEM, email="gina@guest.example", full_name="Gina Guest", role="customer",
                         password="correct horse battery")
    log_in(client, "gina@guest.example")
    assert "Printer on fire" in client.get("/tickets").text
    assert client.get(f"/tickets/{number}").status_code == 200


def test_cc_participant_with_an_account_sees_the_ticket(client, customer, make_user):
    make_user("customer", email="dora@example.test", full_name="Dora Copy")
    ticket = open_ticket_for(customer, subject="Copied to Dora", cc=["dora@example.test"])
    log_in(client, "dora@example.test")
    assert "Copied to Dora" in client.get("/tickets").text
    assert client.get(f"/tickets/{ticket.number}").status_code == 200


# --------------------------------------------------------------------------- languages

def test_persian_ticket_page_is_right_to_left_and_translated(client, customer):
    ticket = open_ticket_for(customer)
    service.close(customer, ticket)
    client.set_cookie("lang", "fa")
    log_in(client, "carla@example.test")
    page = client.get(f"/tickets/{ticket.number}").text
    assert re.search(r'<html lang="fa" dir="rtl">', page)
    assert "Status changed" not in page
    assert "Reopen the ticket" not in page


def test_guest_form_in_german(client):
    page = client.get("/tickets/new", headers={"Accept-Language": "de"}).text
    assert "Submit a ticket" not in page
    assert "Subject" not in page
