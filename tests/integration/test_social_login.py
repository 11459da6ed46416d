"""Social login through the web door against a fake OpenID Connect provider and a fake Facebook on loopback: the
buttons show only for configured providers; a verified email logs its login in or registers a new customer after
the privacy consent; an unverified one goes through the mailed link; the provider's failures (wrong state, replayed
code, bad signature, expired token, wrong nonce, a 500) log nobody in; staff are refused; Facebook's email counts as
unverified; the profile lists and unlinks identities."""
import re

import pytest
import requests
import sqlalchemy as sa

from helpdesk.accounts import memberships
from helpdesk.accounts.models import User
from helpdesk.accounts.social_models import SocialIdentity, SocialLoginAttempt
from helpdesk.extensions import db
from helpdesk.providers import openid
from tests.conftest import csrf_token, log_in
from tests.fakes.openid_provider import CLIENT_SECRET, FACEBOOK_APP_SECRET, FakeOpenIDProvider

# The web door's behaviour; the rules behind it run on both databases in tests/unit/test_social_rules.py.
pytestmark = pytest.mark.backends("postgresql")

BASE = "http://helpdesk.example.test"


@pytest.fixture(scope="module")
def provider():
    fake = FakeOpenIDProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(app_factory, provider, smtp):
    provider.reset()
    openid._CACHE.clear()  # each test reads the provider's discovery document and keys afresh
    app = app_factory(OPENID_PROVIDERS={"example": provider.settings(label="Example ID"),
                                        "facebook": provider.facebook_settings()}, OPENID_TIMEOUT=2)
    with app.app_context():
        yield app
        db.session.remove()


def leave_for(client, name="example"):
    """Press the provider's button on the login page: the provider's address the browser is sent to."""
    page = client.get("/login").text
    response = client.post(f"/login/{name}", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200, response.text
    assert response.headers["Refresh"].startswith("0; url=")
    return response.headers["Refresh"].removeprefix("0; url=")


def at_provider(url):
    """What the provider does with the browser: its redirect back to us (a path with code and state)."""
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"].startswith(BASE)
    return answer.headers["Location"].removeprefix(BASE)


def log_in_with(client, name="example", follow=True):
    return client.get(at_provider(leave_for(client, name)), follow_redirects=follow)


def fresh(model, **where):
    db.session.rollback()
    return db.session.scalar(sa.select(model).filter_by(**where))


def link_in_mail(smtp, email):
    [mail] = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == email and "Confirm" in m["Subject"]]
    return re.search(r"http://helpdesk\.example\.test(/login/social/confirm/\S+)",
                     mail.get_body(("plain",)).get_content()).group(1)


# --------------------------------------------------------------------------- buttons

def test_buttons_show_only_the_configured_providers(client):
    for page in (client.get("/login").text, client.get("/register").text):
        assert "Continue with Example ID" in page and "Continue with Facebook" in page
        assert "Continue with Google" not in page


def test_no_buttons_without_providers(app_factory, smtp):
    app = app_factory()
    with app.app_context():
        browser = app.test_client()
        page = browser.get("/login").text
        assert "Continue with" not in page
        assert browser.post("/login/example", data={"csrf_token": csrf_token(page)}).status_code == 404
        assert browser.get("/login/example/callback?code=x&state=y").status_code == 404


def test_the_provider_gets_pkce_state_and_nonce_and_never_our_secret(client, provider):
    url = leave_for(client)

    assert url.startswith(provider.url + "/authorize?")
    for part in ("response_type=code", "code_challenge_method=S256", "code_challenge=", "state=", "nonce=",
                 "client_id=helpdesk-test-client", "redirect_uri=http%3A%2F%2Fhelpdesk.example.test%2Flogin%2F"
                 "example%2Fcallback"):
        assert part in url
    assert CLIENT_SECRET not in url


# --------------------------------------------------------------------------- logging in and registering

def test_a_customer_logs_in_with_a_verified_email_and_lands_in_the_portal(client, customer, provider):
    provider.user["email"] = "carla@example.test"

    page = log_in_with(client)

    assert "You are logged in with Example ID." in page.text
    assert client.get("/profile").status_code == 200
    assert fresh(SocialIdentity, provider="example").user_id == customer.id
    # The token request authenticated the client and sent the PKCE verifier.
    [request] = provider.token_requests
    assert request["client_id"] == "helpdesk-test-client" and request["form"]["code_verifier"]


def test_a_new_person_registers_after_agreeing_to_the_privacy_policy(client, provider, smtp):
    answer = log_in_with(client, follow=False)
    assert answer.headers["Location"].endswith("/login/example/register")

    page = client.get("/login/example/register").text
    assert "Example ID confirmed your email address" in page and 'value="Olga Open"' in page
    refused = client.post("/login/example/register", data={"csrf_token": csrf_token(page), "full_name": "Olga Open"})
    assert "Please agree to the privacy policy to register." in refused.text
    assert fresh(User, email="olga@example.test") is None

    done = client.post("/login/example/register", data={"csrf_token": csrf_token(page), "full_name": "Olga Open",
                                                         "company": "Open GmbH", "consent": "y"},
                       follow_redirects=True)
    assert "You are logged in with Example ID." in done.text
    olga = fresh(User, email="olga@example.test")
    assert olga.is_active and olga.company_name == "Open GmbH" and olga.consent_policy_version
    assert memberships.default_account_id(olga) is not None
    assert any("Welcome" in m["Subject"] for m in smtp.messages)


def test_an_unverified_email_is_linked_through_the_mailed_link(client, customer, provider, smtp):
    provider.user.update(email="carla@example.test", email_verified=False)

    page = log_in_with(client)
    assert "Check your email" in page.text and client.get("/profile").status_code == 302  # not logged in

    link = link_in_mail(smtp, "carla@example.test")
    confirm = client.get(link).text
    assert "privacy policy" not in confirm  # Carla has an account: nothing to agree to
    done = client.post(link, data={"csrf_token": csrf_token(confirm)}, follow_redirects=True)
    assert "Your Example ID login is linked." in done.text
    assert fresh(SocialIdentity, provider="example").linked_at is not None
    assert client.get(link).status_code == 410  # once


def test_facebook_logs_in_with_the_graph_api_and_its_email_counts_as_unverified(client, customer, provider, smtp):
    provider.facebook_user["email"] = "carla@example.test"

    page = log_in_with(client, "facebook")

    assert "Check your email" in page.text  # Facebook does not vouch for the address: the link decides
    client.post(link := link_in_mail(smtp, "carla@example.test"),
                data={"csrf_token": csrf_token(client.get(link).text)})
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/profile").text)})
    assert "You are logged in with Facebook." in log_in_with(client, "facebook").text
    assert fresh(SocialIdentity, provider="facebook").subject == "10158812345678901"
    assert FACEBOOK_APP_SECRET not in str(provider.token_requests)


def test_a_facebook_account_without_an_email_is_asked_to_register_with_one(client, provider):
    del provider.facebook_user["email"]  # signed up at Facebook with a phone number

    page = log_in_with(client, "facebook")

    assert page.status_code == 400 and "did not tell us your email address" in page.text
    assert fresh(SocialIdentity, provider="facebook") is None


def test_staff_are_refused_in_words(client, agent, provider):
    provider.user["email"] = "agent@example.test"

    page = log_in_with(client)

    assert page.status_code == 403
    assert "Staff accounts log in with their password only" in page.text
    assert fresh(SocialIdentity, provider="example") is None


# --------------------------------------------------------------------------- the provider's failures

@pytest.mark.parametrize("failure", ["wrong_state", "bad_signature", "expired", "wrong_nonce", "wrong_audience",
                                     "server_error"])
def test_a_provider_answer_that_fails_a_check_logs_nobody_in(client, customer, provider, failure, caplog):
    provider.user["email"] = "carla@example.test"
    provider.failures.append(failure)

    page = log_in_with(client)

    assert page.status_code == 400
    assert "Logging in with this provider did not work. Please try again." in page.text
    assert client.get("/profile").status_code == 302
    assert fresh(SocialIdentity, provider="example") is None
    assert CLIENT_SECRET not in caplog.text


def test_a_rotated_signing_key_is_fetched_again(client, customer, provider):
    provider.user["email"] = "carla@example.test"
    log_in_with(client)  # the key set is cached now
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/profile").text)})
    provider.rotate_key()

    assert "You are logged in with Example ID." in log_in_with(client).text


def test_an_id_token_naming_only_the_subject_is_completed_from_userinfo(client, customer, provider):
    provider.user["email"] = "carla@example.test"
    provider.claims_in_id_token = False

    assert "You are logged in with Example ID." in log_in_with(client).text


def test_a_discovery_document_of_another_issuer_is_refused(client, provider):
    provider.announced_issuer = "https://accounts.example.com"
    page = client.get("/login").text

    answer = client.post("/login/example", data={"csrf_token": csrf_token(page)})

    assert answer.status_code == 502 and "did not work" in answer.text


def test_a_provider_that_cannot_be_reached_logs_nobody_in(app_factory, provider, smtp):
    app = app_factory(OPENID_PROVIDERS={"example": {**provider.settings(), "issuer": "http://127.0.0.1:9"}})
    with app.app_context():
        browser = app.test_client()
        page = browser.get("/login").text
        answer = browser.post("/login/example", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 502 and "Logging in with this provider did not work." in answer.text


def test_the_callback_is_rate_limited_as_the_login_form(app_factory, provider, smtp):
    app = app_factory(OPENID_PROVIDERS={"example": provider.settings()}, ACCOUNT_FORM_RATE_LIMIT="3 per minute")
    with app.app_context():
        browser = app.test_client()
        answers = [browser.get("/login/example/callback?code=x&state=y").status_code for _ in range(4)]
    assert answers == [400, 400, 400, 429]


@pytest.mark.parametrize("entry, missing", [({"client_id": "x", "client_secret": ""}, "client_secret"),
                                            ({"client_secret": "s3cret-value"}, "client_id, issuer")])
def test_a_provider_offered_without_its_settings_stops_the_start_naming_them(entry, missing):
    from helpdesk import create_app
    from helpdesk.settings import ConfigurationError

    with pytest.raises(ConfigurationError) as stopped:
        create_app("testing", {"DATABASE_URL": "sqlite://", "OPENID_PROVIDERS": {"example": entry}})
    assert f"HELPDESK_OPENID_PROVIDERS['example'] needs {missing}" in str(stopped.value)
    assert "s3cret-value" not in str(stopped.value)


def test_cancelling_at_the_provider_says_so(client, provider):
    provider.failures.append("denied")

    assert "You cancelled logging in at the provider." in log_in_with(client).text


def test_a_replayed_callback_logs_nobody_in_again(client, app, customer, provider):
    provider.user["email"] = "carla@example.test"
    back = at_provider(leave_for(client))
    assert "You are logged in" in client.get(back, follow_redirects=True).text

    stranger = app.test_client()
    assert stranger.get(back).status_code == 400  # another browser: no state of its own
    assert "did not work" in client.get(back).text  # the same browser: the trip is spent
    assert fresh(SocialLoginAttempt).used_at is not None


def test_the_provider_refuses_a_code_twice(client, customer, provider):
    provider.user["email"] = "carla@example.test"
    back = at_provider(leave_for(client))
    client.get(back)
    code = re.search(r"code=([^&]+)", back).group(1)

    again = requests.post(provider.url + "/token", data={"grant_type": "authorization_code", "code": code},
                          auth=("helpdesk-test-client", CLIENT_SECRET), timeout=5)

    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


# --------------------------------------------------------------------------- linked logins in the profile

def test_the_profile_lists_linked_logins_and_unlinks_them(client, customer, provider):
    provider.user["email"] = "carla@example.test"
    log_in_with(client)

    assert "Linked logins" in client.get("/profile").text
    page = client.get("/profile/linked-logins").text
    assert "Example ID" in page and "carla@example.test" in page
    identity = fresh(SocialIdentity, provider="example")
    done = client.post(f"/profile/linked-logins/{identity.id}/unlink", data={"csrf_token": csrf_token(page)},
                       follow_redirects=True)
    assert "Your Example ID login is unlinked." in done.text
    assert fresh(SocialIdentity, provider="example") is None


def test_the_last_way_to_log_in_is_not_unlinked(client, provider):
    log_in_with(client)
    page = client.get("/login/example/register").text
    client.post("/login/example/register", data={"csrf_token": csrf_token(page), "full_name": "Olga Open",
                                                 "consent": "y"})
    page = client.get("/profile/linked-logins").text
    assert "You have no password." in page
    identity = fresh(SocialIdentity, provider="example")

    done = client.post(f"/profile/linked-logins/{identity.id}/unlink", data={"csrf_token": csrf_token(page)},
                       follow_redirects=True)

    assert "This is your only way to log in." in done.text
    assert fresh(SocialIdentity, provider="example") is not None


def test_a_password_login_still_works_beside_a_linked_one(client, customer, provider):
    provider.user["email"] = "carla@example.test"
    log_in_with(client)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/profile").text)})

    assert "Log out" in log_in(client, "carla@example.test").text
