"""Submitting and tracking tickets as a person does in Chromium: a guest's ticket with an attachment, its
acknowledgement at the SMTP server and an emailed reply threading into it; a customer's CC, reply, close and
reopen; another customer's ticket out of reach; the Persian ticket page right to left."""
import re
from email.message import EmailMessage

import sqlalchemy as sa
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.tickets import service
from helpdesk.tickets.models import CLOSED, OPEN, Ticket
from helpdesk.tickets.service import NewAttachment

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")


def log_in(page, email):
    page.goto("/login")
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/$"))


def emailed_reply(acknowledgement, sender, text):
    """The guest's mail client answering the acknowledgement: to its Reply-To, threaded on its Message-ID."""
    reply = EmailMessage()
    reply["From"] = f"Gina Guest <{sender}>"
    reply["To"] = acknowledgement["Reply-To"]
    reply["Subject"] = f"Re: {acknowledgement['Subject']}"
    reply["Message-ID"] = "<gina-reply-1@guest.example>"
    reply["In-Reply-To"] = acknowledgement["Message-ID"]
    reply["References"] = acknowledgement["Message-ID"]
    reply["Date"] = "Tue, 24 Nov 2026 10:00:00 +0000"
    reply.set_content(f"{text}\n\nOn Tue, 24 Nov 2026 at 09:00, Helpdesk wrote:\n> We received your request\n")
    return bytes(reply)


def test_guest_ticket_with_attachment_is_acknowledged_and_an_emailed_reply_threads_into_it(
        page, live_server, department, smtp, screenshot, tmp_path):
    log_file = tmp_path / "error.log"
    log_file.write_text("disk full\n")
    page.goto("/")
    page.get_by_role("link", name="Submit a ticket").first.click()
    page.get_by_label("Email address").fill("gina@guest.example")
    page.get_by_label("Full name").fill("Gina Guest")
    page.get_by_label("Company name").fill("Guest GmbH")
    page.get_by_label("Subject").fill("Backups fail every night")
    page.get_by_label("Description").fill("The nightly backup stops with an error.")
    page.get_by_label("Department").select_option(label="Technical")
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_label("Server IP address (optional)").fill("not-an-ip")
    page.get_by_label("Attachments (optional)").set_input_files(str(log_file))
    screenshot(page, "form")
    page.get_by_role("button", name="Submit the ticket").click()

    # Bad input is answered beside the field and what was typed stays.
    expect(page.locator("#server_ip-error")).to_have_text("Enter an IPv4 or IPv6 address, such as 203.0.113.7.")
    expect(page.locator("#privacy-error")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Backups fail every night")
    screenshot(page, "errors")
    page.get_by_label("Server IP address (optional)").fill("192.0.2.10")
    page.get_by_label("Attachments (optional)").set_input_files(str(log_file))  # browsers never refill files
    page.get_by_label(re.compile("I agree")).check()
    page.get_by_role("button", name="Submit the ticket").click()

    expect(page).to_have_url(f"{live_server}/")
    flash = page.locator(".flash-success")
    expect(flash).to_contain_text("created; we sent you a confirmation email")
    number = int(re.search(r"#(\d+)", flash.inner_text()).group(1))
    screenshot(page, "confirmation")

    acknowledgement = smtp.wait_for(1)[0]
    assert acknowledgement["To"].addresses[0].addr_spec == "gina@guest.example"
    assert f"#{number}" in str(acknowledgement["Subject"])

    outcomes = pipeline.ingest([pipeline.Fetched("file", emailed_reply(acknowledgement, "gina@guest.example",
                                                                       "It failed again tonight."))])
    assert [(o.outcome, o.ticket_number) for o in outcomes] == [("added", number)]
    db.session.rollback()
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
    customer_messages = [m for m in ticket.messages if m.kind == "customer"]
    assert [a.filename for a in customer_messages[0].attachments] == ["error.log"]
    assert ticket.details.server_ip == "192.0.2.10"  # a field of the ticket, not text in the message
    assert customer_messages[-1].body_text.startswith("It failed again tonight.")
    assert customer_messages[-1].source == "email"

    # A guest has no online view of the ticket.
    page.goto(f"/tickets/{number}")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_customer_adds_a_cc_replies_closes_and_reopens(page, live_server, customer, agent, screenshot, tmp_path):
    ticket = service.open_ticket(customer, subject="Website is slow", body_html=(
        '<p>Look at this:</p><img src="cid:graph@x" alt="load graph">'),
        attachments=[NewAttachment("graph.png", "image/png", PNG, content_id="graph@x")])
    service.add_agent_reply(agent, ticket, body_text="Which pages are slow?")
    log_in(page, "carla@example.test")

    page.get_by_role("link", name="My tickets").first.click()
    expect(page.locator("table")).to_contain_text("Website is slow")
    screenshot(page, "my-tickets")
    page.get_by_role("link", name="Website is slow").click()
    expect(page).to_have_url(f"{live_server}/tickets/{ticket.number}")
    expect(page.locator(".thread")).to_contain_text("Which pages are slow?")
    image = page.locator(".message img").first
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")  # inline images load for the owner

    page.get_by_label("Email addresses to add in copy").fill("dora@example.test, eve@example.test")
    page.get_by_role("button", name="Add in copy").click()
    participants = page.locator("#participants")
    expect(participants).to_contain_text("dora@example.test")
    expect(participants).to_contain_text("eve@example.test")
    page.get_by_role("button", name="Remove eve@example.test from copy").click()
    expect(page.locator(".thread")).to_contain_text("eve@example.test was removed from copy.")
    expect(participants.locator("li")).to_have_count(2)

    shot = tmp_path / "slow-page.txt"
    shot.write_text("/checkout takes 9 seconds")
    page.get_by_label("Your reply").fill("The checkout page takes nine seconds.")
    page.get_by_label("Attachments (optional)").set_input_files(str(shot))
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".flash-success")).to_have_text("Your reply was added.")
    expect(page.locator(".thread")).to_contain_text("The checkout page takes nine seconds.")
    expect(page.get_by_role("link", name="slow-page.txt")).to_be_visible()
    screenshot(page, "ticket")

    page.get_by_role("button", name="Close the ticket").click()
    expect(page.locator(".facts .status")).to_have_text("Closed")
    page.get_by_role("button", name="Reopen the ticket").click()
    expect(page.locator(".facts .status")).to_have_text("Open")
    expect(page.locator(".thread")).to_contain_text("Status changed from Closed to Open.")

    db.session.rollback()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == OPEN
    assert sorted(p.email for p in ticket.participants) == ["carla@example.test", "dora@example.test"]


def test_customer_cannot_reach_another_customers_ticket(page, customer, make_user, screenshot):
    bob = make_user("customer", email="bob@example.test", full_name="Bob Other")
    theirs = service.open_ticket(bob, subject="Bob's invoice question", body_text="Private.",
                                 attachments=[NewAttachment("invoice.txt", "text/plain", b"private")])
    attachment_id = theirs.messages[0].attachments[0].id
    log_in(page, "carla@example.test")

    response = page.goto(f"/tickets/{theirs.number}")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator("body")).not_to_contain_text("Bob's invoice question")
    screenshot(page, "not-found")
    assert page.request.get(f"/attachments/{attachment_id}").status == 404
    page.goto("/tickets")
    expect(page.locator("main")).not_to_contain_text("Bob's invoice question")


def test_persian_ticket_page_renders_right_to_left(page, make_user, screenshot):
    darya = make_user("customer", email="darya@example.test", full_name="Darya Karimi", locale="fa")
    ticket = service.open_ticket(darya, subject="چاپگر کار نمی‌کند", body_text="از دیروز چاپ نمی‌کند.")
    service.close(darya, ticket)
    log_in(page, "darya@example.test")
    page.goto(f"/tickets/{ticket.number}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "fa")
    expect(page.locator(".subject")).to_have_text("چاپگر کار نمی‌کند")
    expect(page.locator("body")).not_to_contain_text("Status changed")
    assert ticket.status == CLOSED
    screenshot(page)
