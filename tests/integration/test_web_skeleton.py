"""The web skeleton through the Flask test client: logging in and out, who sees the staff console,
CSRF, open redirects, ending sessions, the language switcher, security headers and rate limiting."""
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from helpdesk.extensions import db
from tests.conftest import csrf_token

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


PASSWORD = "correct horse battery"  # the make_user factory's default
SAME_ANSWER = "Email or password is not correct."


def html_attributes(page: str) -> dict:
    tag = re.search(r"<html\b[^>]*>", page).group(0)
    return dict(re.findall(r'(\w+)="([^"]*)"', tag))


def log_in(client, login, password=PASSWORD, next_url=None, **extra):
    page = client.get("/login", query_string={"next": next_url} if next_url is not None else None)
    data = {"csrf_token": csrf_token(page.text), "login": login, "password": password, **extra}
    # The login form's own hidden field (the language switcher has a "next" input too).
    hidden_next = re.search(r'<input[^>]*id="next"[^>]*value="([^"]*)"', page.text)
    if hidden_next:
        data["next"] = html.unescape(hidden_next.group(1))
    return client.post("/login", data=data)


def log_out(client):
    page = client.get("/")
    return client.post("/logout", data={"csrf_token": csrf_token(page.text)})


def assert_sent_to_login(response, next_path):
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [next_path]


# --------------------------------------------------------------------------- pages and logging in

def test_start_page_is_open_to_anonymous_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "How can we help?" in response.text
    assert 'href="/login"' in response.text


def test_login_page_shows_a_labelled_form_with_csrf_token(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert '<label for="login">Email or username</label>' in response.text
    assert '<label for="password">Password</label>' in response.text
    assert 'type="password"' in response.text
    assert csrf_token(response.text)


def test_customer_logs_in_with_email_and_sees_their_name_on_the_start_page(client, customer):
    response = log_in(client, "Carla@Example.test")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert "Carla Customer" in page.text
    assert "My tickets" in page.text
    assert "Staff console" not in page.text


def test_agent_logs_in_and_lands_on_the_staff_console(client, agent):
    response = log_in(client, "agent@example.test")
    assert response.headers["Location"] == "/agent/"
    page = client.get("/agent/")
    assert page.status_code == 200
    assert "Alex Agent" in page.text
    assert "Open tickets" in page.text


def test_customer_asking_for_the_staff_console_gets_not_found(client, customer):
    log_in(client, "carla@example.test")
    response = client.get("/agent/")
    assert response.status_code == 404
    assert "Open tickets" not in response.text


def test_anonymous_visitor_is_sent_to_login_and_back_to_the_staff_console(client, agent):
    assert_sent_to_login(client.get("/agent/"), "/agent/")
    response = log_in(client, "agent@example.test", next_url="/agent/")
    assert response.headers["Location"] == "/agent/"


def test_wrong_password_and_unknown_email_get_the_same_answer(client, customer):
    wrong_password = log_in(client, "carla@example.test", password="not the password")
    unknown_email = log_in(client, "nobody@example.test", password="not the password")
    assert wrong_password.status_code == unknown_email.status_code == 200
    assert SAME_ANSWER in wrong_password.text
    assert SAME_ANSWER in unknown_email.text
    assert_sent_to_login(client.get("/agent/"), "/agent/")


def test_login_without_csrf_token_is_rejected_and_does_not_log_in(client, agent):
    client.get("/login")
    response = client.post("/login", data={"login": "agent@example.test", "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.text
    assert_sent_to_login(client.get("/agent/"), "/agent/")


def assert_stays_on_this_site(location):
    # Browsers read a backslash as a slash and drop tabs and newlines, so "/\\x" or "/\t/x" would leave too.
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not re.match(r"^/[\\/\s]", location), location


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "https://evil.example/agent/"])
def test_login_does_not_redirect_to_another_site(client, customer, target):
    response = log_in(client, "carla@example.test", next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/%2F/evil.example",
                                    " //evil.example", "http:evil.example"])
def test_login_next_that_a_browser_could_read_as_another_site_is_not_followed(client, customer, target):
    response = log_in(client, "carla@example.test", next_url=target)
    assert response.status_code == 302
    assert_stays_on_this_site(response.headers["Location"])


# --------------------------------------------------------------------------- ending a session

def test_logging_out_needs_a_post_with_csrf_token(client, agent):
    log_in(client, "agent@example.test")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/agent/").status_code == 200  # still logged in

    response = log_out(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "You have been logged out." in client.get("/").text
    assert_sent_to_login(client.get("/agent/"), "/agent/")


def test_bumping_session_version_ends_existing_sessions_including_remembered_ones(client, agent):
    log_in(client, "agent@example.test", remember="y")
    assert client.get("/agent/").status_code == 200
    assert client.get_cookie("remember_token") is not None

    agent.session_version += 1  # what a password reset or deactivation does
    db.session.commit()

    assert_sent_to_login(client.get("/agent/"), "/agent/")
    assert "Alex Agent" not in client.get("/").text


# --------------------------------------------------------------------------- language

def test_language_switcher_sets_a_cookie_and_the_page_turns_german(client):
    page = client.get("/")
    assert html_attributes(page.text)["lang"] == "en"
    response = client.post("/language/de", data={"csrf_token": csrf_token(page.text), "next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get_cookie("lang").value == "de"
    attributes = html_attributes(client.get("/login").text)
    assert (attributes["lang"], attributes["dir"]) == ("de", "ltr")


def test_language_switcher_needs_csrf_token_and_a_known_language(client):
    token = csrf_token(client.get("/").text)
    assert client.post("/language/de").status_code == 400
    assert client.post("/language/xx", data={"csrf_token": token}).status_code == 404
    assert client.get_cookie("lang") is None


def test_language_switcher_does_not_redirect_to_another_site(client):
    token = csrf_token(client.get("/").text)
    response = client.post("/language/de", data={"csrf_token": token, "next": "//evil.example"})
    assert response.headers["Location"] == "/"


def test_persian_browser_gets_a_right_to_left_page(client):
    attributes = html_attributes(client.get("/", headers={"Accept-Language": "fa"}).text)
    assert (attributes["lang"], attributes["dir"]) == ("fa", "rtl")


@pytest.mark.parametrize("accept, lang, direction", [
    ("fa-IR,fa;q=0.9,en;q=0.5", "fa", "rtl"),
    ("de-AT", "de", "ltr"),
    ("pt-BR,pt;q=0.9", "en", "ltr"),
])
def test_browser_languages_choose_the_page_language(client, accept, lang, direction):
    attributes = html_attributes(client.get("/login", headers={"Accept-Language": accept}).text)
    assert (attributes["lang"], attributes["dir"]) == (lang, direction)


def test_saved_language_wins_over_the_cookie(client, make_user):
    make_user("customer", email="hanna@example.test", full_name="Hanna Horvath", locale="hu")
    client.set_cookie("lang", "de")
    assert html_attributes(client.get("/").text)["lang"] == "de"
    log_in(client, "hanna@example.test")
    assert html_attributes(client.get("/").text)["lang"] == "hu"


def test_logged_in_user_switching_language_saves_it(client, customer):
    from helpdesk.accounts.models import User

    log_in(client, "carla@example.test")
    client.post("/language/tr", data={"csrf_token": csrf_token(client.get("/").text)})
    assert db.session.get(User, customer.id).locale == "tr"
    client.delete_cookie("lang")
    assert html_attributes(client.get("/").text)["lang"] == "tr"


# --------------------------------------------------------------------------- headers and limits

@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page"])
def test_every_page_carries_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_login_attempts_are_rate_limited(client, customer):
    token = csrf_token(client.get("/login").text)
    attempt = {"csrf_token": token, "login": "carla@example.test", "password": "guess"}
    # Ten logins, so the per-login throttle (test_login_throttle.py) stays out of this.
    statuses = [client.post("/login", data={**attempt, "login": f"guess{n}@example.test"}).status_code
                for n in range(10)]
    assert statuses == [200] * 10
    blocked = client.post("/login", data={**attempt, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.text
    assert client.get("/login").status_code == 200  # reading the page is not limited
    assert_sent_to_login(client.get("/agent/"), "/agent/")
