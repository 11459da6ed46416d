"""Personal API tokens in the profile (issue 20): customers and staff list, create and revoke their tokens; a new
token is shown once, on the answer to the form, and works against the API until it is revoked."""
import re

import pytest

from helpdesk.accounts import api_tokens
from helpdesk.extensions import db
from tests.conftest import csrf_token, log_in

pytestmark = pytest.mark.backends("sqlite")

TOKEN = re.compile(r'<textarea id="new-token"[^>]*>(hd_[0-9a-f]+_[A-Za-z0-9_-]+)</textarea>')


def stored(user):
    """The user's tokens as stored now (a new transaction sees what the requests wrote)."""
    db.session.commit()
    return api_tokens.tokens_of(user)


def form_fields(page: str) -> dict:
    """The hidden fields of the page's create form, as a browser sends them back."""
    return {"csrf_token": csrf_token(page), "form_key": re.search(r'name="form_key"[^>]*value="([^"]+)"',
                                                                  page).group(1)}


def create(client, page=None, **data):
    page = page or client.get("/profile/api-tokens").get_data(as_text=True)
    return client.post("/profile/api-tokens", data={**form_fields(page), **data})


def test_the_profile_links_the_token_page_which_links_the_reference(client, customer):
    log_in(client, customer.email)
    profile = client.get("/profile").get_data(as_text=True)
    assert 'href="/profile/api-tokens"' in profile
    page = client.get("/profile/api-tokens")
    assert page.status_code == 200
    assert 'href="/api/v1/docs"' in page.get_data(as_text=True)
    assert "You have no API tokens yet." in page.get_data(as_text=True)


def test_a_customer_is_offered_the_scopes_that_make_sense_for_customers(client, customer):
    log_in(client, customer.email)
    page = client.get("/profile/api-tokens").get_data(as_text=True)
    offered = set(re.findall(r'name="scopes"[^>]*value="([^"]+)"', page))
    assert offered == {"tickets:read", "tickets:write", "kb:read", "billing:read", "devices:read", "webhooks:manage"}
    assert "Read tickets, their messages and attachments, and search them" in page  # the scopes' labels


def test_staff_are_offered_every_scope(client, agent):
    log_in(client, agent.email)
    page = client.get("/profile/api-tokens").get_data(as_text=True)
    assert set(re.findall(r'name="scopes"[^>]*value="([^"]+)"', page)) == set(api_tokens.SCOPES)


def test_a_customer_cannot_give_a_token_a_staff_scope_by_editing_the_form(client, customer):
    log_in(client, customer.email)
    answer = create(client, name="Sneaky", scopes=["tickets:read", "customers:write"], expires_in_days="")
    assert answer.status_code == 400
    assert "Choose among the scopes listed." in answer.get_data(as_text=True)
    assert stored(customer) == []


def test_the_new_token_is_shown_once_and_works_until_it_is_revoked(app, client, customer):
    log_in(client, customer.email)
    answer = create(client, name="Monitoring", scopes=["tickets:read", "kb:read"], expires_in_days="30")
    assert answer.status_code == 200
    assert "no-store" in answer.headers["Cache-Control"]
    page = answer.get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    assert "It is shown only on this page" in page

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["email"] == customer.email
    assert me.get_json()["token"]["scopes"] == ["kb:read", "tickets:read"]

    listing = client.get("/profile/api-tokens")
    assert "no-store" in listing.headers["Cache-Control"]
    listed = listing.get_data(as_text=True)
    assert token not in listed  # never again
    row = stored(customer)[0]
    assert "Monitoring" in listed and f"hd_{row.prefix}_…" in listed
    assert "Read knowledge base articles" in listed
    assert row.expires_at is not None and (row.expires_at - row.created_at).days == 30
    assert stored(customer)[0].last_used_at is not None  # the list shows when it was used

    confirm = client.get(f"/profile/api-tokens/{row.id}/revoke")
    assert confirm.status_code == 200
    assert "Revoke the token “Monitoring”?" in confirm.get_data(as_text=True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200  # not yet

    revoked = client.post(f"/profile/api-tokens/{row.id}/revoke",
                          data={"csrf_token": csrf_token(confirm.get_data(as_text=True))}, follow_redirects=True)
    assert "The token “Monitoring” was revoked" in revoked.get_data(as_text=True)
    assert "revoked" in revoked.get_data(as_text=True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_that_never_expires(client, agent):
    log_in(client, agent.email)
    answer = create(client, name="CRM sync", scopes=["customers:read"], expires_in_days="")
    assert answer.status_code == 200
    row = stored(agent)[0]
    assert row.expires_at is None and row.scopes == ["customers:read"]
    assert "never" in client.get("/profile/api-tokens").get_data(as_text=True)


def test_every_mistake_is_shown_beside_its_field(client, customer):
    log_in(client, customer.email)
    answer = create(client, name="", expires_in_days="90")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "Give the token a name, so you know later what uses it." in page
    assert "Choose at least one scope." in page
    assert TOKEN.search(page) is None
    assert stored(customer) == []


def test_revoking_needs_the_form_s_csrf_token(client, customer):
    row, _ = api_tokens.create_token(customer, name="Script", scopes=["tickets:read"])
    log_in(client, customer.email)
    assert client.post(f"/profile/api-tokens/{row.id}/revoke").status_code == 400
    assert stored(customer)[0].revoked_at is None


def test_nobody_sees_or_revokes_another_person_s_token(client, customer, make_user):
    other = make_user("customer")
    row, _ = api_tokens.create_token(other, name="Theirs", scopes=["tickets:read"])
    log_in(client, customer.email)
    assert "Theirs" not in client.get("/profile/api-tokens").get_data(as_text=True)
    assert client.get(f"/profile/api-tokens/{row.id}/revoke").status_code == 404
    page = client.get("/profile/api-tokens").get_data(as_text=True)
    assert client.post(f"/profile/api-tokens/{row.id}/revoke",
                       data={"csrf_token": csrf_token(page)}).status_code == 404
    assert stored(other)[0].revoked_at is None


def test_visitors_are_sent_to_log_in(client):
    assert client.get("/profile/api-tokens").status_code == 302
    assert "/login" in client.get("/profile/api-tokens").headers["Location"]


def test_sending_the_form_again_makes_no_second_token(client, customer):
    """Reloading the page that shows a new token sends its form again: no second token, no token shown."""
    log_in(client, customer.email)
    page = client.get("/profile/api-tokens").get_data(as_text=True)
    first = create(client, page, name="Monitoring", scopes=["kb:read"])
    assert first.status_code == 200 and TOKEN.search(first.get_data(as_text=True))
    again = create(client, page, name="Monitoring", scopes=["kb:read"])
    assert again.status_code == 409
    assert "This form was sent already" in again.get_data(as_text=True)
    assert TOKEN.search(again.get_data(as_text=True)) is None
    assert len(stored(customer)) == 1
    # The form on the page that showed the token makes the next one.
    assert create(client, first.get_data(as_text=True), name="Second", scopes=["kb:read"]).status_code == 200
    assert len(stored(customer)) == 2


def test_creating_tokens_is_rate_limited(app, client, customer):
    app.config["ACCOUNT_FORM_RATE_LIMIT"] = "2 per day"  # a fixed window: a minute's could end between the posts
    log_in(client, customer.email)
    answers = [create(client, name=f"Token {n}", scopes=["kb:read"]).status_code for n in range(3)]
    assert answers == [200, 200, 429]
    assert len(stored(customer)) == 2


def test_the_page_speaks_the_reader_s_language(client, customer):
    from helpdesk.accounts import service as accounts

    accounts.update_profile(customer, customer, locale="de")
    log_in(client, customer.email)
    page = client.get("/profile/api-tokens").get_data(as_text=True)
    assert 'lang="de"' in page and "Zurück zu Ihrem Profil" in page


def test_the_list_tells_expired_and_revoked_tokens_from_live_ones(client, customer, time_machine):
    from datetime import timedelta

    from helpdesk.db import utcnow

    api_tokens.create_token(customer, name="Old script", scopes=["kb:read"], expires_in_days=30)
    gone, _ = api_tokens.create_token(customer, name="Gone", scopes=["kb:read"])
    api_tokens.revoke_token(customer, gone.id)
    api_tokens.create_token(customer, name="Live", scopes=["kb:read"])
    time_machine.move_to(utcnow() + timedelta(days=31))
    log_in(client, customer.email)
    page = client.get("/profile/api-tokens").get_data(as_text=True)
    rows = {name: re.search(rf"<tr id=\"token-\d+\">\s*<th scope=\"row\"><bdi dir=\"auto\">{name}</bdi>.*?</tr>", page,
                            re.S).group(0)
            for name in ("Old script", "Gone", "Live")}
    assert "expired" in rows["Old script"] and "Revoke" not in rows["Old script"]
    assert "revoked" in rows["Gone"] and "Revoke" not in rows["Gone"]
    assert "active" in rows["Live"] and "/revoke" in rows["Live"]
    assert client.get(f"/profile/api-tokens/{gone.id}/revoke").status_code == 302  # nothing left to revoke
