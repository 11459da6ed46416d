"""SLA in Chromium: an agent opens the "SLA breached" view, finds the overdue ticket with its count and
marker, and sees the overdue due time on the ticket page."""
import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import service, sla, sla_tasks
from helpdesk.tickets.models import URGENT, Ticket


def test_agent_finds_a_breached_ticket_in_the_sla_breached_view(page, live_server, agent, department, smtp,
                                                                 screenshot):
    sla.save_target(SYSTEM, department=department, priority=URGENT, first_response_minutes=10,
                    resolution_minutes=120, business_hours=False)
    ticket = service.open_ticket(GUEST_FORM, subject="Mail server down", body_text="Nothing arrives.",
                                 requester_email="grace@customer.test", department=department, priority=URGENT,
                                 acknowledge=False)
    late = {name: getattr(ticket, name) - timedelta(minutes=25) for name in
            ("created_at", "sla_started_at", "first_response_due_at", "resolution_due_at", "sla_due_at")}
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(late))
    db.session.commit()
    assert sla_tasks.flag_breaches() == 1

    page.goto("/login")
    page.get_by_label("Email or username").fill("agent@example.test")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto("/agent/")
    views = page.get_by_role("navigation", name="Ticket views")
    expect(views.locator("li", has_text="SLA breached").locator(".count")).to_have_text("1")
    views.get_by_role("link", name="SLA breached").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("SLA breached")
    row = page.locator("tbody tr", has_text="Mail server down")
    expect(row.locator(".sla-due.sla-breached")).to_contain_text(re.compile(r"SLA breached\s*overdue 1\d minutes"))
    screenshot(page, "queue")

    row.get_by_role("link", name=f"#{ticket.number}").click()
    marker = page.locator("dd.sla .sla-breached")
    expect(marker).to_contain_text("SLA breached")
    expect(marker).to_contain_text("First response due")
    expect(marker).to_contain_text("overdue")
    expect(page.locator(".event", has_text="The first response target was breached.")).to_be_visible()
    screenshot(page)
