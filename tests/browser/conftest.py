"""Browser tests: Debian's Chromium, driven by Playwright, against the app served over real HTTP on
loopback. One backend is enough here; the database behaviour is covered by the integration tests."""
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


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
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


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
