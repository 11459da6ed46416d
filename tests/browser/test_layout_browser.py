"""Layout as a new user sees it in Chromium (issue 15): the agents' queue and the staff header fit a 1280 px window in
every language, the ticket form fits a phone, the knowledge base search box looks like every other input, there is
a favicon, Latin text keeps its punctuation on Persian pages and in mail, and a video that cannot load offers a link."""
import re

import pytest
from playwright.sync_api import expect

from helpdesk.kb import service as kb
from helpdesk.tickets import service
from helpdesk.tickets.service import NewAttachment
from tests.browser.conftest import log_in, overflow, use_language

LANGUAGES = ("en", "de", "tr", "hu", "fa")
LATIN_SUBJECT = "Our web server returns 502 Bad Gateway since the PHP 8.3 upgrade. Can you check?"

# Where the first letter and the final "?" of the text inside ``el`` are drawn: in Latin text read left to right
# the "?" is right of the first letter, whatever the page's direction.
FIRST_AND_LAST = """el => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const spots = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.data.length; i++) if (node.data[i].trim()) spots.push([node, i]);
    }
    const x = ([node, i]) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
                               return r.getBoundingClientRect().left; };
    return {first: x(spots[0]), last: x(spots[spots.length - 1]), text: el.textContent.trim()};
}"""




def reads_left_to_right(locator):
    spots = locator.evaluate(FIRST_AND_LAST)
    assert spots["first"] < spots["last"], f"the punctuation of {spots['text']!r} is drawn on the wrong side"


def fits(page):
    found = overflow(page)
    assert found["by"] <= 0, f"{page.url} is {found['by']}px wider than the window: {found['offenders']}"


# --------------------------------------------------------------------------- the agents' queue

def test_queue_fits_1280_px_in_every_language_with_the_paused_sla_said_once(window, live_server, desk_content,
                                                                           screenshot):
    page = window(1280)
    log_in(page, "admin@example.test")
    for language in LANGUAGES:
        use_language(page.context, live_server, language)
        page.goto("/agent/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        fits(page)
        table = page.locator(".queue-table")
        # Every column is on screen: the table does not even scroll inside its own box.
        widths = table.evaluate("box => [box.clientWidth, box.scrollWidth, [...box.querySelectorAll('th')]"
                                ".map(th => `${th.textContent.trim()}: ${Math.round(th.offsetWidth)}`)]")
        assert widths[1] <= widths[0], f"{language}: the queue scrolls inside its box: {widths}"
        table_box, last_update = table.bounding_box(), page.locator("th.col-updated").bounding_box()
        assert table_box["x"] >= 0 and table_box["x"] + table_box["width"] <= 1280, language
        assert 0 <= last_update["x"] and last_update["x"] + last_update["width"] <= 1280, language

        row = page.locator("tbody tr", has=page.locator(f'a[href$="/tickets/{desk_content.waiting.number}"]'))
        due = row.locator(".sla-due")
        words = due.inner_text().split()
        assert words and len(words) == len(set(w.lower() for w in words)), f"{language}: {words} repeats a word"
        expect(due).to_have_attribute("title", re.compile(r"\S{3}"))  # the explanation (\S: JavaScript's \w is ASCII)
        screenshot(page, language)


def test_queue_scrolls_inside_its_own_box_on_a_phone(window, desk_content, screenshot):
    page = window(390, language="en")
    log_in(page, "admin@example.test")
    page.goto("/agent/")
    fits(page)
    table = page.locator(".queue-table")
    assert table.evaluate("box => getComputedStyle(box).overflowX") == "auto"
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    scrolled = table.evaluate("box => { box.scrollLeft = 10000; return box.scrollLeft; }")
    assert scrolled > 0  # the table is wider than a phone: it moves inside its box...
    assert page.evaluate("window.scrollX") == 0  # ...and the page stays put
    screenshot(page)


# --------------------------------------------------------------------------- the staff header

def test_staff_header_is_one_row_at_1280_px_in_every_language(window, live_server, desk_content, screenshot):
    page = window(1280)
    log_in(page, "admin@example.test")
    for language in LANGUAGES:
        use_language(page.context, live_server, language)
        page.goto("/agent/")
        items = page.locator(".nav > .brand, .nav-links > li, .nav-end > *")
        boxes = [b for b in (items.nth(i).bounding_box() for i in range(items.count())) if b and b["width"]]
        tops = [b["y"] for b in boxes]
        middles = [b["y"] + b["height"] / 2 for b in boxes]
        assert max(middles) - min(middles) < 12, f"{language}: the header has more than one row ({tops})"
        assert page.locator(".site-header").bounding_box()["height"] < 80, language
        # No label breaks inside ("Submit a / ticket"): each is drawn on one line.
        broken = page.evaluate("""() => [...document.querySelectorAll('.nav a, .nav summary, .nav button')]
            .filter(el => el.checkVisibility())
            .filter(el => el.getBoundingClientRect().height > 1.8 * parseFloat(getComputedStyle(el).fontSize))
            .map(el => el.textContent.trim())""")
        assert broken == [], f"{language}: {broken} break over lines"
        fits(page)
        screenshot(page, language)


def test_rarer_entries_are_in_a_menu_that_works_by_keyboard(window, desk_content, screenshot):
    page = window(1280, language="en")
    log_in(page, "admin@example.test")
    page.goto("/agent/")
    quarantine = page.get_by_role("link", name="Mail quarantine")
    expect(quarantine).to_be_hidden()
    more = page.locator(".nav-menu summary", has_text="More")
    more.focus()
    page.keyboard.press("Enter")
    expect(quarantine).to_be_visible()
    screenshot(page, "open")
    page.keyboard.press("Escape")  # closes it, back on its button
    expect(quarantine).to_be_hidden()
    expect(more).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Knowledge base (console)")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Billing")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Status notices")).to_be_focused()
    page.keyboard.press("Tab")
    expect(quarantine).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/agent/quarantine"))


def test_header_menus_work_without_javascript(window, desk_content):
    page = window(1280, language="en", java_script_enabled=False)
    log_in(page, "admin@example.test")
    page.goto("/agent/")
    page.locator(".nav-menu summary", has_text="More").click()
    page.get_by_role("link", name="Knowledge base (console)").click()
    expect(page).to_have_url(re.compile(r"/agent/kb"))
    page.locator(".nav-menu summary", has_text="English").click()
    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")


# --------------------------------------------------------------------------- the ticket form, search box, favicon

@pytest.mark.parametrize("language", ["en", "fa"])
def test_ticket_form_fits_a_phone(window, desk_content, language, screenshot):
    page = window(390, language=language)
    log_in(page, "carla@example.test")
    page.goto("/tickets/new")
    details = page.locator("fieldset", has=page.locator("#reference"))
    expect(details).to_be_visible()
    box = details.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    fits(page)
    screenshot(page)


def test_knowledge_base_search_box_looks_like_the_other_inputs(window, desk_content):
    page = window(1280, language="en")
    page.goto("/login")
    look = "el => { const s = getComputedStyle(el); return [s.borderTopWidth, s.paddingTop, s.borderRadius, " \
           "Math.round(el.getBoundingClientRect().height)]; }"
    other = page.locator("input[name=login]").evaluate(look)
    page.goto("/kb/")
    search = page.locator("#kb-search-q").evaluate(look)
    assert search == other
    assert search[3] >= 30  # not a thin line


def test_pages_have_a_favicon_and_nothing_is_missing(window, desk_content):
    page = window(1280, language="en")
    missing = []
    page.on("response", lambda response: response.status == 404 and missing.append(response.url))
    log_in(page, "admin@example.test")
    for path in ("/", "/kb/", "/agent/", f"/agent/tickets/{desk_content.waiting.number}"):
        page.goto(path)
        icon = page.locator("link[rel=icon]").get_attribute("href")
        answer = page.request.get(icon)
        assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
    default = page.request.get("/favicon.ico")  # what browsers ask for when a page names none
    assert default.ok and default.headers["content-type"].startswith("image/svg+xml")
    assert missing == []


# --------------------------------------------------------------------------- Latin text on Persian pages

def test_latin_text_keeps_its_punctuation_on_persian_pages(window, desk_content, screenshot):
    customer = window(1280, language="fa")
    log_in(customer, "carla@example.test")
    customer.goto(f"/tickets/{desk_content.waiting.number}")
    expect(customer.locator("html")).to_have_attribute("dir", "rtl")
    reads_left_to_right(customer.locator("h1 .subject"))
    reads_left_to_right(customer.locator(".message .body").first)
    subject = customer.locator("#details input[name=subject]")
    expect(subject).to_have_attribute("dir", "auto")
    assert subject.evaluate("el => getComputedStyle(el).direction") == "ltr"  # shows the start of the subject
    assert customer.locator(".message .body").first.evaluate("el => getComputedStyle(el).direction") == "ltr"
    screenshot(customer, "customer")
    customer.goto("/")
    reads_left_to_right(customer.get_by_role("link", name=LATIN_SUBJECT))
    customer.goto(f"/kb/articles/{desk_content.article.id}")
    reads_left_to_right(customer.locator("h1"))

    agent = window(1280, language="fa")
    log_in(agent, "admin@example.test")
    agent.goto("/agent/")
    reads_left_to_right(agent.get_by_role("link", name=LATIN_SUBJECT))
    agent.goto(f"/agent/tickets/{desk_content.waiting.number}")
    reads_left_to_right(agent.locator("h1 .subject"))
    expect(agent.locator("textarea[name=body]")).to_have_attribute("dir", "auto")
    screenshot(agent, "agent")

    # And the other way round: a Persian message on an English page is right to left.
    english = window(1280, language="en")
    log_in(english, "admin@example.test")
    english.goto(f"/agent/tickets/{desk_content.persian.number}")
    assert english.locator(".message .body").first.evaluate("el => getComputedStyle(el).direction") == "rtl"


def test_latin_subject_keeps_its_punctuation_in_a_persian_mail(window, make_user, department, smtp):
    reader = make_user("customer", email="reza.mail@example.test", full_name="Reza Mohammadi", locale="fa")
    service.open_ticket(reader, subject=LATIN_SUBJECT, body_text="Since last night.", department=department)
    html = smtp.wait_for(1)[0].get_body(("html",)).get_content()
    assert 'dir="rtl"' in html
    page = window(800)
    page.set_content(html)
    subject = page.locator("bdi[dir=auto]", has_text="Our web server")
    expect(subject).to_have_text(LATIN_SUBJECT)
    reads_left_to_right(subject)


# --------------------------------------------------------------------------- videos that cannot load

def test_a_video_that_cannot_load_offers_a_link(window, desk_content, screenshot):
    page = window(1280, language="en")
    page.goto(f"/kb/articles/{desk_content.article.id}")  # the player's site does not answer here
    link = page.get_by_role("link", name="Video not showing? Open it in a new tab")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", desk_content.article.video_url)
    player = page.locator(".kb-video iframe").bounding_box()
    assert link.bounding_box()["y"] >= player["y"] + player["height"]  # right under the empty player
    screenshot(page)


def test_an_uploaded_video_that_cannot_play_offers_the_file(window, desk_content):
    editor = desk_content.admin
    article = kb.create_article(editor, folder=desk_content.article.folder, language="en", title="Resetting a router",
                                body="Hold the reset button for ten seconds.", publish=True,
                                video=NewAttachment("reset.mp4", "video/mp4", b"not really a video"))
    page = window(1280, language="en")
    page.goto(f"/kb/articles/{article.id}")
    expect(page.locator(".kb-video video")).to_be_visible()
    assert page.locator(".kb-video video").evaluate(
        "video => new Promise(done => video.error ? done(true) : video.addEventListener('error', () => done(true)))")
    link = page.get_by_role("link", name="Video not playing? Open the video file")
    expect(link).to_be_visible()
    assert page.request.get(link.get_attribute("href")).body() == b"not really a video"
