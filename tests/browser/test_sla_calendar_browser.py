"""SLA calendars in Chromium: an admin adds a night shift to the default calendar, is told beside the field
when a window overlaps it, removes a day window, and gives a department a 24/7 calendar."""
from playwright.sync_api import expect

from helpdesk.actors import SYSTEM
from helpdesk.tickets import departments


def log_in_as_admin(page, make_user):
    make_user("admin", email="admin@example.test", full_name="Ada Admin")
    page.goto("/login")
    page.get_by_label("Email or username").fill("admin@example.test")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


def add_window(page, day, opens, closes):
    form = page.locator("form.sla-window-form")
    form.get_by_label("Day").select_option(label=day)
    form.get_by_label("Opens").fill(opens)
    form.get_by_label("Closes").fill(closes)
    form.get_by_role("button", name="Add window").click()


def test_admin_adds_a_night_shift_and_is_told_about_an_overlap(page, make_user, screenshot):
    log_in_as_admin(page, make_user)
    page.goto("/agent/admin/sla/")
    page.get_by_role("link", name="Edit Business hours").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Business hours")
    windows = page.locator("tr.sla-window")
    expect(windows).to_have_count(5)

    add_window(page, "Monday", "22:00", "06:00")
    expect(page.locator(".flash-success")).to_contain_text("Monday 22:00–06:00 (until Tuesday) was added")
    night = page.locator('tr.sla-window[data-window="0-1320-360"]')
    expect(night).to_contain_text("22:00")
    expect(night).to_contain_text("06:00 (next day, Tuesday)")
    expect(windows).to_have_count(6)

    add_window(page, "Tuesday", "05:00", "09:00")
    error = page.locator("#opens-error")
    expect(error).to_have_text(
        "This window overlaps Monday 22:00–06:00 (until Tuesday). Change or remove that one first.")
    expect(page.get_by_label("Opens")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Opens")).to_have_value("05:00")
    screenshot(page, "overlap")
    expect(windows).to_have_count(6)

    page.get_by_role("button", name="Remove Monday 09:00–17:00").click()
    expect(page.locator(".flash-success")).to_have_text("The window was removed.")
    expect(windows).to_have_count(5)
    expect(page.locator('tr.sla-window[data-window="0-540-1020"]')).to_have_count(0)
    screenshot(page)


def test_admin_gives_a_department_a_24_7_calendar(page, make_user, app, screenshot):
    departments.create_department(SYSTEM, name="Network operations")
    log_in_as_admin(page, make_user)
    page.goto("/agent/admin/sla/")
    form = page.locator("form.sla-calendar-form")
    form.get_by_label("Name").fill("Network 24/7")
    form.get_by_label("Around the clock (24/7)").check()
    form.get_by_role("button", name="Add calendar").click()
    expect(page.locator(".sla-always")).to_contain_text("counts around the clock (24/7)")

    page.get_by_role("link", name="Back to the SLA settings").click()
    choice = page.locator("form.sla-department-calendars").get_by_label("Network operations")
    choice.select_option(label="Network 24/7 · 24/7")
    page.get_by_role("button", name="Save departments' calendars").click()
    expect(page.locator(".flash-success")).to_have_text("The departments' calendars were saved.")
    expect(page.locator("form.sla-department-calendars").get_by_label("Network operations")).to_have_value(
        page.locator("form.sla-department-calendars option", has_text="Network 24/7").get_attribute("value"))
    expect(page.locator("table.sla-calendars tr", has_text="Network 24/7")).to_contain_text("Around the clock (24/7)")
    screenshot(page)
