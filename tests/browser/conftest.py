"""Browser tests: Debian's Chromium, driven by Playwright, against the app served over real HTTP on
loopback. One backend is enough here; the database behaviour is covered by the integration tests."""
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.fakes.loopback import POLL

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


# Video players and the like: never reached in tests.
OUTSIDE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"],
    )
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def live_server(app):
    """The test's app on 127.0.0.1 at a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def window(browser, live_server):
    """New browser windows (contexts), one per person, at ``width`` x ``height``, in an English-speaking browser or
    the site ``language`` chosen, closed after the test; outside sites (video players and the like) never answer."""
    opened = []

    def open_window(width=1280, height=900, language=None, **options):
        options.setdefault("locale", "en-GB")
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(10_000)
        context.route(OUTSIDE, lambda route: route.abort())
        if language:
            use_language(context, live_server, language)
        opened.append(context)
        return context.new_page()

    yield open_window
    for context in opened:
        context.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser profile (no cookies) with an English-speaking browser, per test."""
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1100, "height": 700})
    context.set_default_timeout(5_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(request):
    """Save a screenshot of ``page`` as artifacts/screenshots/<test name>[-<suffix>].png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, suffix=""):
        name = request.node.name.replace("[", "-").replace("]", "") + (f"-{suffix}" if suffix else "")
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


# --------------------------------------------------------------------------- realistic content for layout checks

PASSWORD = "correct horse battery"
WIDTHS = {"desktop": 1280, "phone": 390}


def log_in(page, login, password=PASSWORD):
    """Log in through the form in ``page``'s context (the session cookie stays with the context)."""
    page.goto("/login")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/login" not in url)


def use_language(context, base_url, code):
    """Make ``context`` ask for pages in ``code``: the cookie the language switcher sets."""
    context.add_cookies([{"name": "lang", "value": code, "url": base_url}])


def overflow(page) -> dict:
    """How far the page is wider than its window (``by``, 0 when it fits) and, to say why, the outermost elements
    that stick out on the side the page would scroll to (right in LTR, left in RTL), outside any scrolling box."""
    return page.evaluate("""() => {
        const width = window.innerWidth, rtl = getComputedStyle(document.documentElement).direction === 'rtl';
        const sticksOut = (el) => {
            const box = el.getBoundingClientRect();
            return box.width > 0 && (rtl ? box.left < -1 : box.right > width + 1);
        };
        const clipped = (el) => {
            for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
                if (getComputedStyle(up).overflowX !== 'visible') return true;
            }
            return false;
        };
        const offenders = [];
        for (const el of document.body.querySelectorAll('*')) {
            if (!sticksOut(el) || clipped(el) || (el.parentElement && sticksOut(el.parentElement))) continue;
            if (el.closest('details:not([open]) > :not(summary)')) continue;  // not shown
            const box = el.getBoundingClientRect();
            const name = `<${el.tagName.toLowerCase()} class="${el.className}">`;
            offenders.push(`${name} ${Math.round(box.left)}..${Math.round(box.right)}`);
        }
        return {by: document.documentElement.scrollWidth - width, offenders: offenders.slice(0, 6)};
    }""")


@pytest.fixture
def desk_content(app, agent, customer, department, make_user):
    """A desk as it looks after a week of use: long subjects in several scripts, a ticket waiting on the customer
    (its SLA paused), SLA targets so the Due cells show, a long agent name, Latin text that Persian readers see,
    and a knowledge base article with a video."""
    from types import SimpleNamespace

    from helpdesk.actors import GUEST_FORM, SYSTEM
    from helpdesk.kb import service as kb
    from helpdesk.kb.models import NEWS
    from helpdesk.tickets import departments, service, sla
    from helpdesk.tickets.models import HIGH, NORMAL, PRIORITIES, URGENT, WAITING

    admin = make_user("admin", email="admin@example.test", full_name="Maximilian Müller-Lüdenscheidt")
    departments.add_agent_to_department(SYSTEM, department, admin)
    for priority in PRIORITIES:
        sla.save_target(SYSTEM, department=department, priority=priority, first_response_minutes=240,
                        resolution_minutes=2880, business_hours=False)

    waiting = service.open_ticket(
        customer, subject="Our web server returns 502 Bad Gateway since the PHP 8.3 upgrade. Can you check?",
        body_text="Since last night every page of https://shop.example.test/catalogue/category/networking-equipment"
                  "?sort=price&page=12 answers 502.\n\nThe error log says: upstream prematurely closed connection "
                  "while reading response header from upstream.\n\nCan you check?",
        department=department, priority=HIGH, acknowledge=False)
    service.assign(SYSTEM, waiting, admin)
    service.add_agent_reply(admin, waiting, status=WAITING,
                            body_text="Thank you. Could you send us the output of `php -v` and of "
                                      "`systemctl status php8.3-fpm`, please?")
    dns = service.open_ticket(customer, subject="How do I add a DNS record?", department=department,
                              body_text="I want to point mail.example.test to our new mail server.",
                              acknowledge=False)
    german = service.open_ticket(
        GUEST_FORM, subject="Rechnungskorrektur: Umsatzsteuer-Identifikationsnummer fehlt auf der Jahresrechnung",
        body_text="Bitte korrigieren Sie die Rechnung.", requester_email="hildegard.bergmann@kunde.example.test",
        requester_name="Hildegard Bergmann-Oberhausen", department=department, priority=URGENT, acknowledge=False)
    persian = service.open_ticket(
        GUEST_FORM, subject="سرور ایمیل از دیروز پیام‌های ورودی را دریافت نمی‌کند (Postfix 3.7)",
        body_text="از دیروز هیچ ایمیلی به mail.example.test نمی‌رسد. Error: 451 4.3.0 Temporary lookup failure",
        requester_email="reza@example.test", requester_name="رضا محمدی", department=department,
        priority=NORMAL, acknowledge=False)

    editor = kb.set_editor(SYSTEM, admin, True)
    servers = kb.create_folder(editor, title="Servers", description="Web, mail and DNS servers")
    news = kb.create_folder(editor, title="Latest news", kind=NEWS)
    article = kb.create_article(
        editor, folder=servers, language="en", title="How do I add a DNS record?", tags="dns, domains",
        body="Open **Domains**, choose the domain and press *Add record*.\n\n"
             "1. Type: A, AAAA, CNAME, MX or TXT.\n2. Name: for example `mail`.\n3. Value: the address.\n\n"
             "Changes reach most resolvers within an hour; see https://dns.example.test/propagation-checker-tool.",
        video_url="https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ", publish=True)
    kb.create_article(editor, folder=news, language="en", title="Planned maintenance of the mail cluster on Sunday",
                      body="Between 02:00 and 04:00 mail may arrive late.", publish=True)
    return SimpleNamespace(admin=admin, agent=agent, customer=customer, waiting=waiting, dns=dns, german=german,
                           persian=persian, article=article)
