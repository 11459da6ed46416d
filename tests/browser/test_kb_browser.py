"""The knowledge base as people use it in Chromium: a guest browsing folders to an article; search finding
articles by another form of a German and a Turkish word; a guest answering "No" and sending feedback that
the editor then sees; a draft hidden from customers; an internal article visible only in the console;
articles suggested while a customer types a new ticket's subject."""
import re

import pytest
from playwright.sync_api import expect

from helpdesk.actors import SYSTEM
from helpdesk.kb import service
from helpdesk.kb.models import INTERNAL


@pytest.fixture
def editor(make_user):
    return service.set_editor(SYSTEM, make_user("agent", email="editor@example.test", full_name="Edna Editor"), True)


@pytest.fixture
def printers(editor):
    folder = service.create_folder(editor, title="Printers", description="Setting up and caring for printers")
    laser = service.create_folder(editor, title="Laser printers", parent=folder)
    service.create_article(editor, folder=laser, language="en", title="Replacing the toner",
                           body="1. Open the **front** cover.\n2. Pull the old cartridge out.", tags="toner",
                           publish=True)
    service.create_article(editor, folder=folder, language="en", title="Cleaning the rollers",
                           body="Wipe them with a dry cloth.", tags="toner", publish=True)
    return folder


def log_in(page, email):
    page.goto("/login")
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def switch_language(page, name):
    page.get_by_role("button", name=name).click()


def test_guest_browses_folders_to_an_article(page, printers, screenshot):
    page.goto("/")
    page.get_by_role("link", name="Knowledge base").first.click()
    expect(page.get_by_role("heading", name="Knowledge base", level=1)).to_be_visible()
    screenshot(page, "index")
    page.get_by_role("link", name="Laser printers").first.click()
    expect(page.get_by_role("heading", name="Laser printers", level=1)).to_be_visible()
    page.get_by_role("link", name="Replacing the toner").click()

    expect(page.get_by_role("heading", name="Replacing the toner", level=1)).to_be_visible()
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    expect(crumbs.get_by_role("link")).to_have_text(["Knowledge base", "Printers", "Laser printers"])
    expect(page.locator(".kb-body strong")).to_have_text("front")
    expect(page.get_by_role("complementary").get_by_role("link", name="Cleaning the rollers")).to_be_visible()
    screenshot(page, "article")


def test_search_finds_articles_by_a_stemmed_german_and_turkish_word(page, editor, printers, screenshot):
    service.create_article(editor, folder=printers, language="de", title="Druckertreiber installieren",
                           body="So installieren Sie die Treiber für Ihre Drucker.", publish=True)
    service.create_article(editor, folder=printers, language="tr", title="Yazıcı kitaplarımızı yedekleme",
                           body="Yedekleme kitaplarımızı korur.", publish=True)

    page.goto("/kb/")
    switch_language(page, "Deutsch")
    page.locator("#kb-search-q").fill("Treibern")
    page.locator("#kb-search-q").press("Enter")
    results = page.locator(".kb-results li")
    expect(results).to_have_count(1)
    expect(results.first.get_by_role("link")).to_have_text("Druckertreiber installieren")
    expect(results.first.locator("mark").first).to_have_text(re.compile("Treiber", re.I))
    screenshot(page, "de")

    switch_language(page, "Türkçe")
    page.locator("#kb-search-q").fill("kitap")
    page.locator("#kb-search-q").press("Enter")
    expect(page.locator(".kb-results li")).to_have_count(1)
    expect(page.locator(".kb-results li").first.get_by_role("link")).to_have_text("Yazıcı kitaplarımızı yedekleme")
    screenshot(page, "tr")


def test_guest_votes_no_sends_feedback_and_the_editor_sees_it(page, browser, live_server, editor, printers,
                                                             screenshot):
    page.goto("/kb/")
    page.get_by_role("link", name="Cleaning the rollers").click()
    expect(page.get_by_role("heading", name="Was this article helpful?")).to_be_visible()
    page.get_by_role("button", name="No").click()
    expect(page.get_by_role("heading", name="Sorry we couldn't help")).to_be_visible()
    page.get_by_label("What were you looking for?").fill("How often should I clean them?")
    page.get_by_label("Your email address (optional, if you want an answer)").fill("gina@guest.example")
    screenshot(page, "form")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("Feedback sent")).to_be_visible()

    # The same browser may change its mind; it still counts once.
    page.get_by_role("button", name="Yes").click()
    expect(page.get_by_text("That's great! Thank you for the feedback.")).to_be_visible()
    page.get_by_role("button", name="No").click()
    expect(page.get_by_role("heading", name="Sorry we couldn't help")).to_be_visible()
    page.get_by_label("What were you looking for?").fill("How often should I clean them?")
    page.get_by_label("Your email address (optional, if you want an answer)").fill("gina@guest.example")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("Feedback sent")).to_be_visible()

    context = browser.new_context(base_url=live_server, locale="en-GB")
    editor_page = context.new_page()
    try:
        log_in(editor_page, editor.email)
        editor_page.goto("/agent/kb/")
        editor_page.get_by_role("link", name="Readers' feedback").click()
        row = editor_page.locator("table.kb-feedback-summary tbody tr").first
        expect(row.locator("td")).to_have_text(["Cleaning the rollers", "1", "0"])
        row.get_by_role("link", name="Cleaning the rollers").click()
        expect(editor_page.get_by_text("How often should I clean them?")).to_be_visible()
        screenshot(editor_page, "editor")
        editor_page.get_by_role("button", name="Turn into a ticket").click()
        expect(editor_page.get_by_text(re.compile(r"Ticket #\d+ was opened"))).to_be_visible()
    finally:
        context.close()


def test_a_draft_is_invisible_to_customers(page, editor, customer, printers, screenshot):
    draft = service.create_article(editor, folder=printers, language="en", title="Unreleased firmware notes",
                                   body="Not yet.")

    log_in(page, customer.email)
    page.goto("/kb/")
    expect(page.get_by_role("link", name="Cleaning the rollers")).to_be_visible()
    expect(page.get_by_text("Unreleased firmware notes")).to_have_count(0)
    page.goto("/kb/all")
    expect(page.get_by_text("Unreleased firmware notes")).to_have_count(0)
    page.goto(f"/kb/articles/{draft.id}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    screenshot(page)


def test_an_internal_article_is_invisible_outside_the_console(page, editor, agent, printers, screenshot):
    runbooks = service.create_folder(editor, title="Runbooks", visibility=INTERNAL)
    internal = service.create_article(editor, folder=runbooks, language="en", title="Printer escalation runbook",
                                      body="Call the vendor.", publish=True)

    page.goto("/kb/")
    expect(page.get_by_text("Runbooks")).to_have_count(0)
    log_in(page, agent.email)
    page.goto("/kb/search?q=escalation")
    expect(page.get_by_text("No articles match")).to_be_visible()
    page.goto(f"/kb/articles/{internal.id}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()

    page.goto("/agent/kb/")
    page.get_by_role("link", name="Printer escalation runbook").click()
    expect(page.get_by_role("heading", name="Printer escalation runbook")).to_be_visible()
    screenshot(page)


def test_articles_are_suggested_while_typing_a_new_tickets_subject(page, customer, printers, screenshot):
    log_in(page, customer.email)
    page.goto("/tickets/new")
    page.get_by_label("Subject").press_sequentially("toner cartr", delay=20)

    suggestions = page.locator(".kb-suggest-list a")
    expect(suggestions.first).to_have_text("Replacing the toner")
    screenshot(page)
