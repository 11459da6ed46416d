"""Social login cannot be turned against someone: a callback carrying another browser's state logs nobody in (and
leaves that browser's trip working), a replayed callback logs nobody in, an unverified email never links into the
login that has it and the page does not tell whether it has one, nobody unlinks or sees another person's identities,
a registration or a confirmation cannot be completed from another browser or with a made-up link, and every change
needs its CSRF token."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import User
from helpdesk.accounts.social_models import SocialIdentity
from helpdesk.extensions import db
from tests.conftest import csrf_token, log_in
from tests.fakes.openid_provider import FakeOpenIDProvider
from tests.integration.test_social_login import at_provider, leave_for, log_in_with

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture(scope="module")
def provider():
    fake = FakeOpenIDProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(app_factory, provider, smtp):
    provider.reset()
    app = app_factory(OPENID_PROVIDERS={"example": provider.settings(label="Example ID"),
                                        "facebook": provider.facebook_settings()}, OPENID_TIMEOUT=2)
    with app.app_context():
        yield app
        db.session.remove()


def identities():
    db.session.rollback()
    return db.session.scalars(sa.select(SocialIdentity).order_by(SocialIdentity.id)).all()


def logged_in(browser):
    return browser.get("/profile").status_code == 200


def test_a_callback_with_another_browsers_state_logs_nobody_in(app, client, customer, provider):
    provider.user["email"] = "carla@example.test"
    carlas_way_back = at_provider(leave_for(client))
    mallory = app.test_client()
    leave_for(mallory)  # Mallory is on a trip of her own: its state is not Carla's

    answer = mallory.get(carlas_way_back)

    assert answer.status_code == 400 and "did not work" in answer.text
    assert not logged_in(mallory) and identities() == []
    # Carla's own trip still works.
    assert "You are logged in" in client.get(carlas_way_back, follow_redirects=True).text


def test_a_replayed_callback_logs_nobody_in(app, client, customer, provider):
    provider.user["email"] = "carla@example.test"
    way_back = at_provider(leave_for(client))
    assert "You are logged in" in client.get(way_back, follow_redirects=True).text
    guest = app.test_client()

    for browser in (guest, client):
        answer = browser.get(way_back)
        assert answer.status_code == 400 and "You are logged in" not in answer.text
    assert not logged_in(guest)


def test_an_unverified_email_never_links_into_the_login_that_has_it(app, client, customer, provider, smtp):
    provider.user.update(email="carla@example.test", email_verified=False, sub="mallory-at-provider")

    page = log_in_with(client)

    assert not logged_in(client)
    [pending] = identities()
    assert pending.linked_at is None
    # Only Carla's mailbox gets the link that would link it; the page reads as it does for an unknown address.
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["carla@example.test"]
    provider.user.update(email="nobody-has-this@example.test", sub="someone-else")
    other = app.test_client()
    unknown = log_in_with(other)
    assert page.status_code == unknown.status_code == 200
    assert _main(page.text) == _main(unknown.text)


def _main(page):
    return page.split("<main", 1)[1].split("</main>", 1)[0] if "<main" in page else page


def test_nobody_unlinks_or_sees_someone_elses_identity(app, client, customer, make_user, provider):
    provider.user["email"] = "carla@example.test"
    log_in_with(client)
    [carlas] = identities()
    make_user("customer", email="dora@example.test", full_name="Dora Other")
    dora = app.test_client()
    log_in(dora, "dora@example.test")

    page = dora.get("/profile/linked-logins").text
    assert "carla@example.test" not in page
    answer = dora.post(f"/profile/linked-logins/{carlas.id}/unlink", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 404 and "carla" not in answer.text
    assert dora.post("/profile/linked-logins/99999/unlink", data={"csrf_token": csrf_token(page)}).status_code == 404
    assert len(identities()) == 1


def test_guests_must_log_in_for_linked_logins(app, client, customer, provider):
    provider.user["email"] = "carla@example.test"
    log_in_with(client)
    [carlas] = identities()
    guest = app.test_client()
    page = guest.get("/login").text

    assert guest.get("/profile/linked-logins").status_code == 302
    answer = guest.post(f"/profile/linked-logins/{carlas.id}/unlink", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert len(identities()) == 1


def test_every_change_needs_its_csrf_token(app, client, customer, provider):
    provider.user["email"] = "carla@example.test"
    assert client.post("/login/example").status_code == 400
    log_in_with(client)
    [carlas] = identities()

    assert client.post(f"/profile/linked-logins/{carlas.id}/unlink").status_code == 400
    assert len(identities()) == 1


def test_a_registration_is_completed_only_in_the_browser_that_came_back(app, client, provider):
    log_in_with(client, follow=False)
    page = client.get("/login/example/register").text
    mallory = app.test_client()
    mallorys_page = mallory.get("/login").text

    assert mallory.get("/login/example/register").status_code == 400
    answer = mallory.post("/login/example/register", data={"csrf_token": csrf_token(mallorys_page),
                                                           "full_name": "Mallory", "consent": "y"})
    assert answer.status_code == 400
    db.session.rollback()
    assert db.session.scalar(sa.select(User).where(User.email == "olga@example.test")) is None
    assert "Olga Open" in page  # the browser that came back still can


def test_made_up_or_crossed_confirmation_links_are_expired(app, client, customer, make_user, provider, smtp):
    provider.user.update(email="carla@example.test", email_verified=False)
    log_in_with(client)
    [pending] = identities()
    link = next(m for m in smtp.messages).get_body(("plain",)).get_content()
    token = link.split(f"/login/social/confirm/{pending.id}/", 1)[1].split()[0]

    assert client.get(f"/login/social/confirm/{pending.id}/made-up").status_code == 410
    assert client.get(f"/login/social/confirm/{pending.id + 1}/{token}").status_code == 410
    assert client.get(f"/login/social/confirm/not-a-number/{token}").status_code == 410
    assert not logged_in(client) and identities()[0].linked_at is None


def test_an_unconfigured_provider_does_not_exist(app, client):
    page = client.get("/login").text
    assert client.post("/login/google", data={"csrf_token": csrf_token(page)}).status_code == 404
    assert client.get("/login/google/callback?code=x&state=y").status_code == 404
    assert client.get("/login/google/register").status_code == 404
