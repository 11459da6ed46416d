"""Personal API tokens in a real browser (issue 20): a customer creates a token in the profile, sees it once,
uses it against the API with a plain HTTP call, no longer sees it on the page afterwards, revokes it, and the
same call is refused."""
import re

import pytest
import requests
from playwright.sync_api import expect

from helpdesk.web.account_api_tokens import CUSTOMER_SCOPES
from tests.browser.conftest import SCREENSHOTS, WIDTHS, log_in, overflow


def call_me(base_url, token):
    """GET /api/v1/me with the token, as any program would; (status, body)."""
    answer = requests.get(f"{base_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return answer.status_code, answer.json()


def test_a_customer_creates_a_token_uses_it_once_shown_and_revokes_it(page, live_server, customer, screenshot):
    log_in(page, "carla@example.test")
    page.goto("/profile")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_role("link", name="Read the API reference").click()
    expect(page.get_by_role("heading", name="API reference", exact=True)).to_be_visible()
    expect(page.locator("#authentication")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "api_reference.png"))  # its top: the whole page is long
    page.go_back()

    page.get_by_label("Name").fill("Monitoring")
    page.get_by_label("Read tickets, their messages and attachments, and search them").check()
    page.get_by_label("Open tickets, reply, add notes and change tickets").check()
    page.get_by_label("Expires").select_option(label="In 30 days")
    page.get_by_role("button", name="Create the token").click()

    shown = page.get_by_label("Token", exact=True)
    expect(shown).to_have_value(re.compile(r"^hd_[0-9a-f]+_\S{20,}$"))
    token = shown.input_value()
    expect(page.locator(".api-token-created")).to_contain_text("It is shown only on this page")
    screenshot(page, "created")

    status, me = call_me(live_server, token)
    assert status == 200 and me["email"] == "carla@example.test"
    assert me["token"]["name"] == "Monitoring" and me["token"]["scopes"] == ["tickets:read", "tickets:write"]

    page.reload()  # sends the form again: it makes no second token and shows none
    expect(page.locator(".flash")).to_contain_text("This form was sent already")
    assert token not in page.content()
    expect(page.locator("table.api-tokens tbody tr")).to_have_count(1)
    page.goto("/profile/api-tokens")
    row = page.locator("table.api-tokens tbody tr", has_text="Monitoring")
    expect(row).to_contain_text("Read tickets, their messages and attachments, and search them")
    expect(row).not_to_contain_text("not yet")  # it was used
    assert token not in page.content()

    row.get_by_role("link", name="Revoke").click()
    expect(page.get_by_role("heading", name="Revoke the token “Monitoring”?")).to_be_visible()
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.locator(".flash")).to_contain_text("The token “Monitoring” was revoked")
    expect(page.locator("table.api-tokens tbody tr", has_text="Monitoring")).to_contain_text("revoked")
    screenshot(page, "revoked")

    status, problem = call_me(live_server, token)
    assert status == 401 and problem["status"] == 401


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_token_page_and_the_reference_fit_a_phone(window, customer, language):
    from helpdesk.accounts import api_tokens

    api_tokens.create_token(customer, name="Nagios on monitoring-01.example.test", scopes=list(CUSTOMER_SCOPES))
    page = window(width=WIDTHS["phone"], height=800, language=language)
    log_in(page, "carla@example.test")
    for address in ("/profile/api-tokens", "/api/v1/docs"):
        page.goto(address)
        assert overflow(page)["by"] <= 0, (address, overflow(page))
