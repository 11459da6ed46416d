"""Guest links in Chromium: a requester without an account opens the link from the acknowledgement, reads the
agent's answer and replies; staff revoke the links in the console and the guest's page says so."""
import re

from playwright.sync_api import expect

from helpdesk.actors import GUEST_FORM
from helpdesk.tickets import service

LINK = re.compile(r"https?://[^/\s]+(/guest/[A-Za-z0-9._-]+)")


def test_a_guest_reads_and_answers_their_ticket_until_staff_revoke_the_link(page, browser, live_server, agent,
                                                                             department, smtp, screenshot):
    ticket = service.open_ticket(GUEST_FORM, subject="VPN drops every ten minutes", body_text="Since this morning.",
                                 requester_email="gus@guest.test", requester_name="Gus Guest", department=department)
    path = LINK.search(smtp.wait_for(1)[0].get_body(("plain",)).get_content()).group(1)
    service.add_agent_reply(agent, ticket, body_text="Which router model is it?")

    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_contain_text("VPN drops every ten minutes")
    expect(page.locator(".message.agent_reply")).to_contain_text("Which router model is it?")
    expect(page.locator(".guest-notice")).to_contain_text("gus@guest.test")
    page.get_by_label("Your reply").fill("A Fritz!Box 7590.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".flash-success")).to_have_text("Your reply was added.")
    expect(page.locator(".message.customer").last).to_contain_text("A Fritz!Box 7590.")
    expect(page.get_by_role("link", name="My tickets")).to_have_count(0)
    screenshot(page, "guest")

    staff = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1280, "height": 800})
    console = staff.new_page()
    console.goto("/login")
    console.get_by_label("Email or username").fill("agent@example.test")
    console.get_by_label("Password").fill("correct horse battery")
    console.get_by_role("button", name="Log in").click()
    console.goto(f"/agent/tickets/{ticket.number}")
    card = console.locator("#guest-links")
    expect(card).to_contain_text("gus@guest.test")
    card.get_by_role("button", name="Revoke all guest links").click()
    expect(console.locator(".flash-success")).to_contain_text("Every guest link to this ticket was revoked.")
    expect(console.locator(".guest-links-revoked")).to_be_visible()
    screenshot(console, "console")
    staff.close()

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("This link was withdrawn")
    expect(page.locator("#main")).not_to_contain_text("Which router model is it?")
    screenshot(page)
