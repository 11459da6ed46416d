"""Logging in with the local OpenID Connect provider in Chromium: the button on the login page takes the browser to
the provider (started on loopback) and back, and the customer lands in the portal; a new person registers after
agreeing to the privacy policy."""
import pytest
from playwright.sync_api import expect

from helpdesk.extensions import db
from tests.fakes.openid_provider import FakeOpenIDProvider


@pytest.fixture(scope="module")
def provider():
    fake = FakeOpenIDProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(app_factory, provider, smtp):
    provider.reset()
    app = app_factory(OPENID_PROVIDERS={"example": provider.settings(label="Example ID")})
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def site(app, live_server):
    """The live server, with the provider sending the browser back to it."""
    app.config["BASE_URL"] = live_server
    return live_server


def test_customer_logs_in_with_the_local_openid_provider_and_lands_in_the_portal(page, site, customer, provider,
                                                                                 screenshot):
    provider.user["email"] = "carla@example.test"
    page.goto("/login")
    screenshot(page, "login-page")

    page.get_by_role("button", name="Continue with Example ID").click()

    expect(page).to_have_url(f"{site}/")
    expect(page.get_by_role("status").first).to_contain_text("You are logged in with Example ID.")
    expect(page.locator(".site-header")).to_contain_text("Carla Customer")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert screenshot(page).is_file()


def test_a_new_person_registers_through_the_provider_with_the_privacy_consent(page, site, provider, screenshot):
    page.goto("/register")
    page.get_by_role("button", name="Continue with Example ID").click()

    expect(page.get_by_role("heading", name="Register with Example ID")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Olga Open")
    page.get_by_label("I agree to the privacy policy.").check()
    screenshot(page, "consent")
    page.get_by_role("button", name="Register").click()

    expect(page).to_have_url(f"{site}/")
    expect(page.locator(".site-header")).to_contain_text("Olga Open")
    page.goto("/profile/linked-logins")
    expect(page.get_by_role("table")).to_contain_text("olga@example.test")
    expect(page.get_by_text("You have no password.")).to_be_visible()
