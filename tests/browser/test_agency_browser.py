"""The Hungarian agency's delegated access in a real browser (issue 18): its manager login belongs to two customers'
accounts besides its own, switches between them in the header and sees each account's name and members; staff
add and remove a member in the console, and the removed member loses the account at once (their sessions end)."""
import pytest
from playwright.sync_api import expect

from helpdesk.accounts import members, memberships
from helpdesk.accounts.models import PERM_BILLING, PERM_MEMBERS, PERM_TICKETS, CustomerAccount
from helpdesk.extensions import db
from tests.browser.conftest import log_in


@pytest.fixture
def agency(app, customer, make_user, agent):
    """Peter (the agency's manager login, penzugy@sparrow.test) in Carla's account and in Bea's bakery's."""
    bea = make_user("customer", email="bea@pekseg.test", full_name="Bea Baker")
    bakery = db.session.get(CustomerAccount, memberships.default_account_id(bea))
    bakery.name = "Bea Pékség Kft."
    peter = make_user("customer", email="penzugy@sparrow.test", full_name="Péter Sparrow")
    carla = db.session.get(CustomerAccount, memberships.default_account_id(customer))
    for account in (carla, bakery):
        members.join(account, peter, [PERM_TICKETS, PERM_BILLING, PERM_MEMBERS])
    db.session.commit()
    return {"carla": carla.id, "bakery": bakery.id, "peter": peter}


def switch_to(page, name):
    page.locator(".account-switch summary").click()
    page.locator(".account-switch").get_by_role("button", name=name).click()
    expect(page.locator(".account-switch summary")).to_contain_text(name)


def test_an_agency_switches_between_its_customers_accounts(page, live_server, agency, screenshot):
    log_in(page, "penzugy@sparrow.test")
    expect(page.locator(".account-switch summary")).to_contain_text("Péter Sparrow")  # its own account first

    switch_to(page, "Carla Customer")
    page.locator(".site-header").get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Carla Customer")
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Members of Carla Customer")
    expect(page.locator("table.members")).to_contain_text("carla@example.test")
    expect(page.locator("table.members")).not_to_contain_text("bea@pekseg.test")
    screenshot(page, "carla")

    # Switching on the members page stays there, now for the bakery.
    switch_to(page, "Bea Pékség Kft.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Members of Bea Pékség Kft.")
    expect(page.locator("table.members")).to_contain_text("bea@pekseg.test")
    expect(page.locator("table.members")).not_to_contain_text("carla@example.test")
    screenshot(page, "bakery")


def test_staff_add_and_remove_a_member_and_the_removed_one_loses_access_at_once(page, browser, live_server, agency,
                                                                               make_user, screenshot):
    make_user("customer", email="tom@pekseg.test", full_name="Tom Pék")
    log_in(page, "penzugy@sparrow.test")
    switch_to(page, "Bea Pékség Kft.")
    page.goto("/account/members")
    expect(page.get_by_role("heading", level=1)).to_have_text("Members of Bea Pékség Kft.")

    staff_context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1100, "height": 700})
    staff = staff_context.new_page()
    try:
        log_in(staff, "agent@example.test")
        staff.goto("/agent/accounts/")
        staff.get_by_label("Account name or a member’s email address").fill("pekseg")
        staff.get_by_role("button", name="Search").click()
        staff.get_by_role("link", name="Bea Pékség Kft.").click()
        expect(staff.get_by_role("heading", level=1)).to_have_text("Bea Pékség Kft.")

        staff.get_by_label("Customer's email address").fill("tom@pekseg.test")
        staff.get_by_role("button", name="Add to the account").click()
        expect(staff.get_by_text("Tom Pék is now a member.")).to_be_visible()
        expect(staff.locator("table.members")).to_contain_text("tom@pekseg.test")

        staff.locator("tr", has_text="penzugy@sparrow.test").get_by_role("button", name="Remove").click()
        expect(staff.get_by_text("Péter Sparrow is no longer a member")).to_be_visible()
        expect(staff.locator("table.members")).not_to_contain_text("penzugy@sparrow.test")
        expect(staff.locator("table.audit-list")).to_contain_text("Removed Péter Sparrow from Bea Pékség Kft.")
        screenshot(staff, "console")
    finally:
        staff_context.close()

    # The agency's next click: its sessions ended, so it logs in again; the bakery is gone from its accounts.
    page.reload()
    expect(page).to_have_url(f"{live_server}/login?next=%2Faccount%2Fmembers")
    log_in(page, "penzugy@sparrow.test")
    page.goto("/account/members")
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("Bea Pékség Kft.")
    page.locator(".account-switch summary").click()
    expect(page.locator(".account-switch")).not_to_contain_text("Bea Pékség Kft.")
    expect(page.locator(".account-switch")).to_contain_text("Carla Customer")
