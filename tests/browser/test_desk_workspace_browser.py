"""The agent's ticket workspace in Chromium: an agent logs in, opens a ticket from the queue, adds an internal
note and a reply; the note is marked as internal and the reply reaches the requester by email."""
import re

from playwright.sync_api import expect

from helpdesk.tickets import service


def test_agent_adds_an_internal_note_and_a_reply(page, live_server, agent, customer, smtp, screenshot):
    ticket = service.open_ticket(customer, subject="VPN drops every hour", body_text="It disconnects at :00.",
                                 department=agent.departments[0].id, acknowledge=False)
    page.goto("/login")
    page.get_by_label("Email or username").fill("agent@example.test")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto("/agent/")
    page.get_by_role("link", name=f"#{ticket.number}").click()
    expect(page).to_have_url(re.compile(rf"/agent/tickets/{ticket.number}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("VPN drops every hour")

    page.get_by_label("Internal note").fill("Probably the DHCP lease time.")
    page.get_by_role("button", name="Add note").click()
    note = page.locator(".message.internal_note")
    expect(note).to_contain_text("Internal note")
    expect(note).to_contain_text("Probably the DHCP lease time.")

    page.get_by_label("Reply to the customer").fill("Please renew the lease and tell us if it helps.")
    expect(page.get_by_label("Status after the reply")).to_have_value("answered")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".message.agent_reply")).to_contain_text("Please renew the lease")
    expect(page.locator("dd.status")).to_have_text("Answered")
    screenshot(page)

    mail = smtp.wait_for(1)
    assert [m["To"].addresses[0].addr_spec for m in mail] == ["carla@example.test"]
    assert "DHCP" not in mail[0].get_body(("plain",)).get_content()
