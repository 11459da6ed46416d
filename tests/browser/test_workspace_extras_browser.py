"""The workspace's extras in Chromium: two agents in two browsers on one ticket see each other ("… is also looking",
"… is replying", kept up to date by presence.js), and a canned response is inserted at the cursor by canned.js
without reloading the page."""
import pytest
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.tickets import canned, departments, service


@pytest.fixture
def app(app_factory, smtp):
    # A heartbeat every second, so the other agent's page catches up quickly.
    app = app_factory(PRESENCE_HEARTBEAT_SECONDS=1)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def anna(make_user, department):
    from helpdesk.actors import SYSTEM

    user = make_user("agent", email="anna@example.test", full_name="Anna Agent")
    departments.add_agent_to_department(SYSTEM, department, user)
    return user


def log_in(page, email):
    page.goto("/login")
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_two_agents_see_each_other_and_a_canned_response_is_inserted_at_the_cursor(
        browser, live_server, page, agent, anna, customer, department, screenshot):
    from helpdesk.actors import SYSTEM

    ticket = service.open_ticket(customer, subject="VPN drops every hour", body_text="It disconnects at :00.",
                                 department=department.id, acknowledge=False)
    canned.create_response(SYSTEM, title="Greeting", department=department.id,
                           body="Hello {customer_name}, about #{ticket_number}: ")
    workspace = f"/agent/tickets/{ticket.number}"

    other_context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1100, "height": 700})
    other_context.set_default_timeout(5_000)
    alex = other_context.new_page()
    try:
        log_in(page, "anna@example.test")
        log_in(alex, "agent@example.test")
        page.goto(workspace)
        alex.goto(workspace)
        expect(alex.locator("#presence")).to_contain_text("Anna Agent is also looking at this ticket")
        # Anna's page learns about Alex from its heartbeat, without reloading.
        expect(page.locator("#presence")).to_contain_text("Alex Agent is also looking at this ticket")

        box = alex.get_by_label("Reply to the customer")
        box.fill("Hi,\n\nRegards")
        box.evaluate("el => el.setSelectionRange(4, 4)")  # the cursor on the empty line
        alex.evaluate("window.notReloaded = true")
        alex.get_by_role("button", name="Use Greeting").click()
        expect(box).to_have_value(f"Hi,\nHello Carla Customer, about #{ticket.number}:\nRegards")
        assert alex.evaluate("window.notReloaded") is True

        box.press("End")
        box.type("!")
        expect(page.locator("#presence")).to_contain_text("Alex Agent is replying")
        screenshot(alex)
    finally:
        other_context.close()
