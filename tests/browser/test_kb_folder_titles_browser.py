"""An editor gives a folder its German and Persian titles in the KB editor (Chromium); readers of those languages
see them on the portal, and a Turkish reader, with no Turkish title, the default one."""
from playwright.sync_api import expect

from helpdesk.kb import service as kb
from tests.browser.conftest import log_in, use_language


def test_an_editor_translates_a_folder_title_and_readers_see_theirs(page, make_user, live_server, screenshot):
    editor = make_user("admin", email="editor@example.test", full_name="Edna Editor")
    folder = kb.create_folder(editor, title="Servers", description="Web servers and backups")
    kb.create_article(editor, folder=folder, language="en", title="Restoring a backup", body="Pick a date.",
                      publish=True)

    log_in(page, "editor@example.test")
    page.goto(f"/agent/kb/folders/{folder.id}/edit")
    page.get_by_label("Title (Deutsch)").fill("Server")
    page.get_by_label("Description (Deutsch)").fill("Webserver und Backups")
    page.get_by_label("Title (فارسی)").fill("سرورها")
    screenshot(page, "editor")
    with page.expect_navigation():
        page.get_by_role("button", name="Save folder").click()

    use_language(page.context, live_server, "de")
    page.goto("/kb/")
    expect(page.get_by_role("heading", name="Server", exact=True)).to_be_visible()
    expect(page.get_by_text("Webserver und Backups")).to_be_visible()
    page.get_by_role("link", name="Restoring a backup").click()
    expect(page.locator("nav.kb-breadcrumbs")).to_contain_text("Server")
    expect(page.locator("nav.kb-breadcrumbs")).not_to_contain_text("Servers")
    screenshot(page, "german-reader")

    use_language(page.context, live_server, "fa")
    page.goto("/kb/")
    expect(page.get_by_role("heading", name="سرورها")).to_be_visible()
    screenshot(page, "persian-reader")

    use_language(page.context, live_server, "tr")
    page.goto("/kb/")
    expect(page.get_by_role("heading", name="Servers", exact=True)).to_be_visible()
