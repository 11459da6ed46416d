"""Status notices in Chromium (issue 17): billing staff publish an incident through the console's pages, and it
appears as a banner on the portal pages of a customer whose service it affects, and not for another customer."""
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, log_in
from tests.integration.billing_shop import SETTINGS, billing_app
from tests.integration.status_shop import status_shop


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, **SETTINGS)


@pytest.fixture
def shop(app):
    return status_shop()




def test_a_notice_published_by_staff_shows_as_a_banner_for_an_affected_customer_only(shop, window):
    staff = window()
    log_in(staff, "bilge@example.test")
    staff.goto("/agent/")
    staff.locator("summary", has_text="More").click()
    staff.get_by_role("link", name="Status notices", exact=True).click()
    staff.get_by_role("link", name="Publish a notice").click()
    staff.get_by_label("Kind").select_option("incident")
    staff.get_by_label("Severity").select_option("major")
    # Times are typed in the staff member's zone (UTC here: Bilge chose none).
    started = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    staff.get_by_label("Starts").fill(started)
    staff.get_by_label("Title (English)").fill("Web hosting cluster slow")
    staff.get_by_label("Text (English)").fill("Pages load slowly. We are replacing a failed disk.")
    staff.get_by_label("Title (Deutsch)").fill("Webhosting-Cluster langsam")
    staff.get_by_label("Text (Deutsch)").fill("Seiten laden langsam. Wir tauschen eine defekte Platte.")
    staff.get_by_label("Web hosting", exact=True).check()
    staff.get_by_role("button", name="Publish").click()
    expect(staff.locator(".flash-success")).to_contain_text("Notice published")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Web hosting cluster slow")
    expect(staff.locator(".notice-status")).to_have_text("Investigating")

    carla = window()  # web hosting, reads German
    log_in(carla, "carla@example.test")
    carla.goto("/")
    banner = carla.locator(".status-banner")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text("Webhosting-Cluster langsam")
    carla.goto("/billing/")
    expect(carla.locator(".status-banner")).to_contain_text("Webhosting-Cluster langsam")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    carla.screenshot(path=str(SCREENSHOTS / "status-notice-banner.png"), full_page=True)
    carla.locator(".status-banner a").click()
    expect(carla.get_by_role("heading", level=1)).to_have_text("Webhosting-Cluster langsam")

    bora = window()  # a domain only: not affected
    log_in(bora, "bora@example.test")
    bora.goto("/")
    expect(bora.locator(".who")).to_be_visible()  # logged in, the page drawn
    expect(bora.locator(".status-banner")).to_have_count(0)
    bora.goto("/billing/")
    expect(bora.locator(".status-banner")).to_have_count(0)
