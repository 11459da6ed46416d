"""Logging in, switching to Persian and moving through the login page by keyboard, in a real browser."""
from playwright.sync_api import expect


def test_customer_logs_in_and_sees_their_name_in_the_header(page, live_server, customer, screenshot):
    page.goto("/login")
    page.get_by_label("Email or username").fill("carla@example.test")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator(".site-header")).to_contain_text("Carla Customer")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert screenshot(page).is_file()


def test_switching_to_persian_turns_the_page_right_to_left(page, screenshot):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.get_by_role("button", name="فارسی").click()

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "fa")
    expect(page.get_by_role("button", name="فارسی")).to_have_attribute("aria-current", "true")
    assert page.url.endswith("/login")  # back where the reader was
    assert screenshot(page).is_file()


def test_keyboard_reaches_skip_link_first_and_then_the_login_fields(page, customer, screenshot):
    page.goto("/login")
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()  # visible once focused, not only to screen readers

    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email or username")).to_be_focused()
    page.keyboard.type("carla@example.test")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("correct horse battery")
    screenshot(page, "filled")
    page.keyboard.press("Enter")

    expect(page.locator(".site-header")).to_contain_text("Carla Customer")
