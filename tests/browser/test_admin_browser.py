"""Administration and satisfaction in Chromium: an admin creates a department and an agent in it; a requester
rates their closed ticket from the link in the closing mail."""
import re

from playwright.sync_api import expect

from helpdesk.tickets import service

LINK = re.compile(r"http://helpdesk\.example\.test(/satisfaction/\S+)")


def test_admin_creates_a_department_and_an_agent(page, make_user, smtp, screenshot):
    make_user("admin", email="admin@example.test", full_name="Ada Admin")
    page.goto("/login")
    page.get_by_label("Email or username").fill("admin@example.test")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Administration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agents")

    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Departments").click()
    page.get_by_role("link", name="Add a department").click()
    page.get_by_label("Name").fill("Hardware")
    page.get_by_label("Inbound address (optional)").fill("hardware@example.test")
    page.get_by_label("Signature (optional)").fill("Your hardware team")
    page.get_by_role("button", name="Create the department").click()
    expect(page.locator(".flash")).to_contain_text("The department Hardware was created.")
    expect(page.locator(".department-list")).to_contain_text("hardware@example.test")

    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Agents").click()
    page.get_by_role("link", name="Add an agent").click()
    page.get_by_label("Full name").fill("Hank Hardware")
    page.get_by_label("Email address").fill("hank@example.test")
    page.get_by_label("Role").select_option("agent")
    page.get_by_label("Hardware").check()
    page.get_by_role("button", name="Create the agent").click()
    expect(page.locator(".flash")).to_contain_text("Hank Hardware was created")
    row = page.locator("tr", has_text="hank@example.test")
    expect(row.locator(".departments")).to_have_text("Hardware")
    expect(row.locator(".state")).to_contain_text("Invited (no password yet)")
    screenshot(page)

    mail = smtp.wait_for(1)
    assert [m["To"].addresses[0].addr_spec for m in mail] == ["hank@example.test"]


def test_requester_rates_a_closed_ticket_from_the_mail(page, agent, customer, smtp, screenshot):
    ticket = service.open_ticket(customer, subject="Keyboard sticks", body_text="The E key sticks.",
                                 department=agent.departments[0].id, acknowledge=False)
    service.close(agent, ticket)
    mail = smtp.wait_for(1)[-1]
    text = mail.get_body(("plain",)).get_content()
    bad = LINK.search(text[text.index("Bad, I'm not satisfied"):]).group(1)

    page.goto(bad)
    expect(page.get_by_role("heading", level=1)).to_have_text("How did we do?")
    expect(page.get_by_label("Bad, I'm not satisfied")).to_be_checked()
    page.get_by_label("Comment (optional)").fill("It still sticks a little.")
    screenshot(page, "form")
    page.get_by_role("button", name="Save my rating").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your rating")
    expect(page.locator(".rating")).to_have_text("Bad, I'm not satisfied")
    expect(page.locator(".rating-comment")).to_have_text("It still sticks a little.")
    screenshot(page)
