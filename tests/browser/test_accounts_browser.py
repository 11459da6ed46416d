"""Customer accounts in a real browser: register and activate by the emailed link, reset a forgotten
password, and an expired link. Mail is read from the SMTP test server."""
import re
import time
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from helpdesk.accounts.models import AccountToken
from helpdesk.db import utcnow
from helpdesk.extensions import db

NEW_PASSWORD = "a brand new secret 42"


def emailed_path(smtp, address, subject_part, path_prefix, timeout=10.0):
    """The path of the link in the newest mail to ``address`` about ``subject_part``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(smtp.to(address)):
            if subject_part in str(message["Subject"]):
                text = message.get_body(preferencelist=("plain",)).get_content()
                match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"\S+)", text)
                assert match, text
                return match.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no mail to {address} about {subject_part!r}")


def test_register_then_activate_by_the_emailed_link_and_land_logged_in(page, live_server, smtp, screenshot):
    page.goto("/login")
    page.get_by_role("link", name="Register").first.click()
    expect(page).to_have_url(f"{live_server}/register")
    page.get_by_label("Full name").fill("Rita Register")
    page.get_by_label("Email address").fill("rita@example.test")
    page.get_by_label("Company (optional)").fill("Rita GmbH")
    screenshot(page, "form")
    page.get_by_role("button", name="Register").click()
    # Without consent the form comes back with the error beside the box and the input kept.
    expect(page.locator("#consent-error")).to_contain_text("Please agree to the privacy policy")
    expect(page.get_by_label("Email address")).to_have_value("rita@example.test")
    page.get_by_label("I agree to the privacy policy.").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    screenshot(page, "sent")

    page.goto(emailed_path(smtp, "rita@example.test", "Activate", "/activate/"))
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    screenshot(page, "activate")
    page.get_by_role("button", name="Activate and log in").click()

    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator(".site-header")).to_contain_text("Rita Register")
    expect(page.get_by_text("Your account is active.")).to_be_visible()
    screenshot(page)


def test_forgot_password_link_sets_a_new_password_and_logs_in(page, live_server, smtp, customer, screenshot):
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email address").fill("carla@example.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text("If this address is registered, we sent a link")).to_be_visible()
    screenshot(page, "sent")

    page.goto(emailed_path(smtp, "carla@example.test", "Reset", "/reset-password/"))
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()

    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_text("Password reset successful.")).to_be_visible()
    expect(page.locator(".site-header")).to_contain_text("Carla Customer")
    screenshot(page)


def test_expired_and_used_links_show_this_link_has_expired(page, live_server, smtp, customer, screenshot):
    page.goto("/forgot-password")
    page.get_by_label("Email address").fill("carla@example.test")
    page.get_by_role("button", name="Send the link").click()
    path = emailed_path(smtp, "carla@example.test", "Reset", "/reset-password/")
    db.session.execute(sa.update(AccountToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()

    page.goto(path)
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    screenshot(page)
    page.get_by_role("link", name="Ask for a new link").click()
    expect(page).to_have_url(f"{live_server}/forgot-password")

    # A fresh link works once; opening it again afterwards shows the same page.
    smtp.clear()
    page.get_by_label("Email address").fill("carla@example.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text("If this address is registered")).to_be_visible()
    fresh = emailed_path(smtp, "carla@example.test", "Reset", "/reset-password/")
    assert fresh != path
    page.goto(fresh)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Password reset successful.")).to_be_visible()
    page.goto(fresh)
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    screenshot(page, "used")
