"""Issue 15's ticket behaviour as people meet it in Chromium: the details given with a ticket on both ticket pages
(diagnostics monospace, never wider than the phone's screen) and in the agent queue's filters; a ticket an agent
took up stays in its department; a subject change in the customer's history; a merged ticket's page; a refused CC
address answered on the ticket's page, a reply being written kept meanwhile."""
import re

import sqlalchemy as sa
from playwright.sync_api import expect

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import departments, merge, service
from helpdesk.tickets.models import Ticket

TRACEROUTE = "\n".join(
    [f"traceroute to 203.0.113.7 (203.0.113.7), 30 hops max, 60 byte packets{' ' * 20}(a very long first line)"]
    + [f"{n:2d}  hop{n}.backbone.example.net (198.51.100.{n})  {n * 1.7:.3f} ms  {n * 1.8:.3f} ms  {n * 1.9:.3f} ms"
       for n in range(1, 16)])


def log_in(page, email):
    page.goto("/login")
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/(agent/)?$"))


def log_out(page):
    page.context.clear_cookies()


def page_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_details_given_on_the_form_are_shown_on_both_ticket_pages_and_filter_the_queue(
        page, live_server, customer, agent, department, screenshot):
    other = service.open_ticket(customer, subject="Invoice question", body_text="Why two invoices?",
                                department=department)
    log_in(page, "carla@example.test")
    page.goto("/tickets/new")
    expect(page.locator("select[name=service]")).to_have_count(0)  # no billing yet: nothing to pick
    page.get_by_label("Subject").fill("Web server unreachable")
    page.get_by_label("Description").fill("Since 09:30 the web server does not answer.")
    page.get_by_label("Department").select_option(label="Technical")
    page.get_by_label("Order or service reference (optional)").fill("ORD-2024-118")
    page.get_by_label("Server IP address (optional)").fill("203.0.113.7")
    page.get_by_label("When did the problem start? (optional)").fill("2026-01-10T09:30")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_label("Diagnostics (optional)").fill(TRACEROUTE)
    page.get_by_role("button", name="Submit the ticket").click()
    expect(page.locator(".flash-success")).to_contain_text("created")
    db.session.rollback()
    ticket = db.session.scalars(sa.select(Ticket).where(Ticket.subject == "Web server unreachable")).one()

    page.goto(f"/tickets/{ticket.number}")
    card = page.locator("#ticket-details")
    expect(card.locator("h2")).to_have_text("Details given with the ticket")
    expect(card.locator(".detail-reference")).to_have_text("ORD-2024-118")
    expect(card.locator(".detail-server-ip")).to_have_text("203.0.113.7")
    expect(card.locator(".detail-problem-started")).to_contain_text("(given in the time zone Germany (Berlin))")
    diagnostics = card.locator("pre.diagnostics")
    expect(diagnostics).to_contain_text("hop15.backbone.example.net")
    assert "mono" in diagnostics.evaluate("el => getComputedStyle(el).fontFamily")
    # The thread keeps only what the customer wrote.
    expect(page.locator(".thread .message").first).not_to_contain_text("ORD-2024-118")
    screenshot(page, "customer")
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    assert page_overflow(page) <= 0  # the long lines scroll inside the box, not the page
    shot = screenshot(page, "customer-phone")
    card.screenshot(path=str(shot.with_name(f"{shot.stem}-card.png")))

    log_out(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "agent@example.test")
    page.goto(f"/agent/tickets/{ticket.number}")
    expect(page.locator("#ticket-details .detail-server-ip")).to_have_text("203.0.113.7")
    expect(page.locator("#ticket-details pre.diagnostics")).to_contain_text("hop1.backbone.example.net")
    screenshot(page, "agent")

    page.goto("/agent/")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("With a server IP").check()
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Web server unreachable")
    page.get_by_label("With a server IP").uncheck()
    page.get_by_label("Reference").fill("ord-2024")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).not_to_contain_text(other.subject)
    screenshot(page, "queue")

    page.goto("/agent/search")
    page.locator("form.search-form input[name=q]").fill("203.0.113.7")
    page.locator("form.search-form").get_by_role("button", name="Search").click()
    expect(page.locator(".search-results")).to_contain_text("Web server unreachable")
    expect(page.locator(".search-results mark").first).to_have_text("203.0.113.7")


def test_customer_cannot_move_a_ticket_an_agent_answered_but_still_renames_it(page, customer, agent, department,
                                                                               screenshot):
    departments.create_department(SYSTEM, name="Billing")
    ticket = service.open_ticket(customer, subject="Mail does not arrive", body_text="Since Monday.",
                                 department=department)
    untouched = service.open_ticket(customer, subject="Printer", body_text="Jammed.", department=department)
    service.add_agent_reply(agent, ticket, body_text="Looking into it.")
    log_in(page, "carla@example.test")

    page.goto(f"/tickets/{untouched.number}")
    expect(page.locator("#details select[name=department]")).to_be_visible()

    page.goto(f"/tickets/{ticket.number}")
    details = page.locator("#details")
    expect(details.locator("select[name=department]")).to_have_count(0)
    expect(details).to_contain_text("Our team is working on this ticket, so it stays in this department.")
    details.get_by_label("Subject").fill("No mail since Monday")
    details.get_by_role("button", name="Save details").click()
    expect(page.locator(".flash-success")).to_have_text("The ticket's details were saved.")
    expect(page.locator(".thread")).to_contain_text("Subject changed from “Mail does not arrive” to “No mail since "
                                                    "Monday”.")
    expect(page.locator("h1 .subject")).to_have_text("No mail since Monday")
    screenshot(page)


def test_a_merged_ticket_shows_where_it_went_instead_of_a_reply_form(page, live_server, customer, agent,
                                                                     department, screenshot):
    source = service.open_ticket(customer, subject="Printer jams", body_text="Tray 2.", department=department)
    target = service.open_ticket(customer, subject="Printer broken", body_text="Floor 2.", department=department)
    merge.merge_ticket(agent, source, target)
    log_in(page, "carla@example.test")
    page.goto(f"/tickets/{source.number}")
    expect(page.locator("#reply")).to_have_count(0)
    expect(page.get_by_label("Your reply")).to_have_count(0)
    notice = page.locator("#merged")
    expect(notice).to_contain_text(f"This ticket was merged into ticket #{target.number}.")
    screenshot(page)
    notice.get_by_role("link", name=f"Go to ticket #{target.number}").click()
    expect(page).to_have_url(f"{live_server}/tickets/{target.number}")
    expect(page.get_by_label("Your reply")).to_be_visible()


def test_a_refused_cc_address_is_answered_on_the_ticket_page(page, live_server, customer, screenshot):
    ticket = service.open_ticket(customer, subject="Website is slow", body_text="Very slow.")
    log_in(page, "carla@example.test")
    page.goto(f"/tickets/{ticket.number}")
    reply = page.get_by_label("Your reply")
    reply.fill("The shop takes nine seconds per page.")  # half-written when they think of a colleague
    field = page.get_by_label("Email addresses to add in copy")
    field.fill("dora@example.test, not an address")
    page.get_by_role("button", name="Add in copy").click()

    expect(page).to_have_url(f"{live_server}/tickets/{ticket.number}#participants")
    expect(page.locator("#cc_addresses-error")).to_contain_text("is not a valid email address.")
    expect(field).to_have_value("dora@example.test, not an address")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(reply).to_have_value("The shop takes nine seconds per page.")  # the unsent reply is still there
    screenshot(page)
    field.fill("dora@example.test")
    page.get_by_role("button", name="Add in copy").click()
    expect(page.locator("#participants")).to_contain_text("dora@example.test")
    expect(page.locator("#cc_addresses-error")).to_have_count(0)
    expect(reply).to_have_value("The shop takes nine seconds per page.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".thread")).to_contain_text("The shop takes nine seconds per page.")
    expect(reply).to_have_value("")  # sent: the draft is forgotten
