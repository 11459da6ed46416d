"""The credential vault in a real browser: a member adds a customer's access data, reveals the password in place
(and, without JavaScript, on the page the form answers), and the reveal is in the vault's activity and in the
console's audit trail with who revealed which password of which account."""
import pytest
from playwright.sync_api import expect

from helpdesk.accounts import memberships
from helpdesk.extensions import db
from tests.browser.conftest import log_in

PASSWORD = "Kx9!tarhely-jelszo-Ω"


@pytest.fixture
def carla_with_account(app, customer, make_user):
    memberships.ensure_personal_account(customer)
    make_user("admin", email="ada@example.test", full_name="Ada Admin")
    db.session.commit()
    return customer


def add_access_data(page):
    page.goto("/account")  # the account's page links its vault
    page.get_by_role("link", name="Credential vault").click()
    expect(page.get_by_role("heading", name="Credential vault")).to_be_visible()
    page.get_by_label("Service").fill("tarhely.eu")
    page.get_by_label("Address (URL)").fill("https://www.tarhely.eu/login")
    page.get_by_label("User name").fill("ugyfelneve.marketing@gmail.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Notes").fill("Kezelő fiók: penzugy@sparrow.hu")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("“tarhely.eu” was added to the credential vault.")


def test_a_member_reveals_a_password_in_place_and_the_reveal_is_in_the_audit_trail(
        page, browser, live_server, carla_with_account, screenshot):
    log_in(page, "carla@example.test")
    add_access_data(page)
    row = page.locator("table.vault tbody tr", has_text="tarhely.eu")
    expect(row).to_contain_text("ugyfelneve.marketing@gmail.com")
    assert PASSWORD not in page.content()

    row.get_by_role("button", name="Reveal the password").click()
    expect(row.locator("code.vault-value")).to_have_text(PASSWORD)
    assert page.url == f"{live_server}/account/vault"  # shown in place: the page did not change
    expect(row.get_by_role("button", name="Reveal the notes")).to_be_visible()
    screenshot(page, "revealed")

    page.reload()
    assert PASSWORD not in page.content()
    activity = page.locator(".vault-activity li").first
    expect(activity).to_contain_text("Carla Customer")
    expect(activity).to_contain_text("Revealed the password of “tarhely.eu” in the credential vault of Carla Customer.")

    # The account's activity (for those who manage its members) tells it too.
    page.goto("/account/activity")
    expect(page.locator("body")).to_contain_text(
        "Revealed the password of “tarhely.eu” in the credential vault of Carla Customer.")
    assert PASSWORD not in page.content()

    admin = browser.new_context(base_url=live_server, locale="en-GB").new_page()
    log_in(admin, "ada@example.test")
    admin.goto("/agent/admin/audit")
    revealed = admin.locator("body")
    expect(revealed).to_contain_text("Revealed the password of “tarhely.eu” in the credential vault of Carla Customer.")
    assert PASSWORD not in admin.content()
    screenshot(admin, "console-audit-trail")
    admin.context.close()


def test_without_javascript_the_reveal_answers_the_page_with_the_value(browser, live_server, carla_with_account,
                                                                       screenshot):
    context = browser.new_context(base_url=live_server, locale="en-GB", java_script_enabled=False)
    context.set_default_timeout(5_000)
    page = context.new_page()
    log_in(page, "carla@example.test")
    add_access_data(page)
    row = page.locator("table.vault tbody tr", has_text="tarhely.eu")

    row.get_by_role("button", name="Reveal the notes").click()

    expect(row.locator("pre.vault-value")).to_have_text("Kezelő fiók: penzugy@sparrow.hu")
    assert PASSWORD not in page.content()
    expect(page.locator(".vault-activity li").first).to_contain_text("Revealed the notes of “tarhely.eu”")
    screenshot(page)
    context.close()
