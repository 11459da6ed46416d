"""SELF_REGISTRATION (issue 19): a deployment whose customer accounts only staff create switches the register page
off; it answers 404, no page links to it, the service refuses, and guests still open tickets by the form."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.accounts import social
from helpdesk.accounts.models import User
from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.errors import NotAllowed
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from tests.conftest import OneContextPerRequestClient, csrf_token

pytestmark = pytest.mark.backends("postgresql")

REGISTER_LINK = 'href="/register"'


@pytest.fixture
def closed_app(app_factory, smtp):
    app = app_factory(SELF_REGISTRATION=False)
    app.test_client_class = OneContextPerRequestClient
    with app.app_context():
        yield app
        db.session.remove()


def test_with_self_registration_off_the_register_page_and_its_links_are_gone(closed_app):
    client = closed_app.test_client()
    assert client.get("/register").status_code == 404
    token = csrf_token(client.get("/login").text)
    posted = client.post("/register", data={"csrf_token": token, "email": "rita@example.test",
                                            "full_name": "Rita", "consent": "y"})
    assert posted.status_code == 404
    for page in ("/login", "/", "/billing/", "/tickets/new"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert REGISTER_LINK not in response.text, page
    with pytest.raises(NotAllowed):
        accounts.register_customer(GUEST_FORM, email="rita@example.test", full_name="Rita", consent=True,
                                   policy_version="1", locale="en")
    assert db.session.scalar(sa.select(User.id).where(User.email == "rita@example.test")) is None

    # The guest ticket form still works.
    page = client.get("/tickets/new").text
    opened = client.post("/tickets/new", data={
        "csrf_token": csrf_token(page), "email": "guest@example.test", "full_name": "Gita Guest",
        "company": "Gita & Co", "subject": "The device beeps", "description": "Since this morning.",
        "priority": "normal", "department": "", "problem_timezone": "Asia/Tehran", "privacy": "y"},
        content_type="multipart/form-data")
    assert opened.status_code == 302
    db.session.rollback()
    assert db.session.scalar(sa.select(Ticket.subject).where(Ticket.subject == "The device beeps"))


def test_by_default_visitors_see_the_register_links(client):
    assert client.get("/register").status_code == 200
    assert REGISTER_LINK in client.get("/login").text
    assert REGISTER_LINK in client.get("/").text


def test_with_self_registration_off_a_provider_logs_in_only_logins_that_have_a_password(closed_app):
    def claims(email):
        return social.VerifiedClaims(subject=f"sub-{email}", email=email, name="Nima", email_verified=True)

    for email in ("stranger@example.test", "stranger2@example.test"):
        with pytest.raises(social.RegistrationClosed):
            social.sign_in_with("example", claims(email))
        db.session.rollback()
    with pytest.raises(social.RegistrationClosed):
        social.register("example", claims("stranger@example.test"), full_name="Nima", consent=True,
                        policy_version="1", locale="fa")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0

    accounts.create_user(SYSTEM, email="nima@example.test", full_name="Nima", role="customer",
                         password="correct horse battery")
    outcome = social.sign_in_with("example", claims("nima@example.test"))
    assert outcome.kind == "logged-in" and outcome.user.email == "nima@example.test"
