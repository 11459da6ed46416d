"""The browser's time zone preselected in Chromium: on the profile of a customer who saved none and on a guest's
ticket form (also when the browser names the zone by its old name), never over a saved zone; without
JavaScript the form shows the desk's default and still saves."""
import pytest
from playwright.sync_api import expect

from helpdesk.extensions import db
from tests.browser.conftest import log_in


@pytest.fixture
def in_zone(browser, live_server):
    contexts = []

    def open_page(zone, **options):
        context = browser.new_context(base_url=live_server, locale="de-DE", timezone_id=zone, **options)
        context.set_default_timeout(5_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_the_profile_preselects_the_browsers_zone_and_saves_it(in_zone, customer, screenshot):
    page = in_zone("Asia/Tehran")
    log_in(page, "carla@example.test")
    page.goto("/profile")
    zone = page.locator("select[name=timezone]")
    expect(zone).to_have_value("Asia/Tehran")
    expect(zone.locator("option:checked")).to_have_text("Iran (Teheran)")
    screenshot(page)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    db.session.rollback()
    db.session.refresh(customer)
    assert customer.timezone == "Asia/Tehran"


def test_a_saved_zone_is_not_replaced_by_the_browsers(in_zone, customer):
    customer.timezone = "Europe/Budapest"
    db.session.commit()
    page = in_zone("Asia/Tehran")
    log_in(page, "carla@example.test")
    page.goto("/profile")
    expect(page.locator("select[name=timezone]")).to_have_value("Europe/Budapest")


def test_a_guests_ticket_form_takes_the_browsers_zone_even_by_its_old_name(in_zone):
    page = in_zone("Asia/Kolkata")  # Chromium's ICU may report it as Asia/Calcutta
    page.goto("/tickets/new")
    expect(page.locator("select[name=problem_timezone]")).to_have_value("Asia/Kolkata")


def test_without_javascript_the_default_stands_and_the_form_saves(in_zone, customer):
    page = in_zone("Asia/Tehran", java_script_enabled=False)
    log_in(page, "carla@example.test")
    page.goto("/profile")
    zone = page.locator("select[name=timezone]")
    expect(zone).to_have_value("")
    zone.select_option("Europe/Istanbul")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    db.session.rollback()
    db.session.refresh(customer)
    assert customer.timezone == "Europe/Istanbul"
