"""The screenshot suite: the pages people see most (portal home, ticket form, a customer's ticket, the agents'
queue, an agent's ticket, a knowledge base article) at a desktop and a phone width, in English, German and
Persian, saved to artifacts/screenshots/<language>-<width>-<page>.png; every one of them must fit its window."""

import pytest

from tests.browser.conftest import OUTSIDE, SCREENSHOTS, WIDTHS, log_in, overflow, use_language

# name, who looks at it, path (filled in from the desk_content fixture)
PAGES = (
    ("portal-home", "customer", "/"),
    ("ticket-form", "customer", "/tickets/new"),
    ("customer-ticket", "customer", "/tickets/{waiting}"),
    ("agent-queue", "agent", "/agent/"),
    ("agent-ticket", "agent", "/agent/tickets/{waiting}"),
    ("kb-article", "customer", "/kb/articles/{article}"),
)


@pytest.mark.parametrize("language", ["en", "de", "fa"])
def test_each_page_fits_its_window_at_desktop_and_phone_width(browser, live_server, desk_content, language):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    numbers = {"waiting": desk_content.waiting.number, "article": desk_content.article.id}
    pages = {}
    for role, login in (("customer", "carla@example.test"), ("agent", "admin@example.test")):
        context = browser.new_context(base_url=live_server, viewport={"width": WIDTHS["desktop"], "height": 900})
        context.set_default_timeout(10_000)
        context.route(OUTSIDE, lambda route: route.abort())
        use_language(context, live_server, language)
        pages[role] = context.new_page()
        log_in(pages[role], login)

    too_wide = []
    try:
        for label, width in WIDTHS.items():
            for page in pages.values():
                page.set_viewport_size({"width": width, "height": 900})
            for name, role, path in PAGES:
                page = pages[role]
                response = page.goto(path.format(**numbers))
                assert response.ok, f"{path}: {response.status}"
                assert page.locator("html").get_attribute("lang") == language
                page.screenshot(path=str(SCREENSHOTS / f"{language}-{label}-{name}.png"), full_page=True)
                found = overflow(page)
                if found["by"] > 0:
                    too_wide.append(f"{name} at {width}px is {found['by']}px too wide: {found['offenders']}")
    finally:
        for page in pages.values():
            page.context.close()
    assert not too_wide, "\n".join(too_wide)
