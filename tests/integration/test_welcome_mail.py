"""The welcome mail: a customer who registers gets it once their account works (after activation), in their
language, with the portal's address; a customer account made by staff gets it at once, with a link to choose
the password instead of one (no one but the customer ever knows it)."""
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.actors import SYSTEM
from helpdesk.cli import main
from helpdesk.extensions import db
from tests.conftest import csrf_token
from tests.integration.test_accounts_portal import link_in, log_in, logged_in_as, post_form

PORTAL = "http://helpdesk.example.test/"


WELCOME = ("Welcome to", "Willkommen bei")  # the subject in English and in German (Rita registers in German)


def welcomes(smtp, address):
    return [m for m in smtp.to(address) if any(words in str(m["Subject"]) for words in WELCOME)]


def choose_password(app, path, password="my very own password"):
    """Open the set-password link in a fresh browser and choose ``password``; returns that browser."""
    browser = app.test_client()
    response = post_form(browser, path, password=password, confirm=password)
    assert response.status_code == 302
    return browser


def test_a_registered_customer_is_welcomed_once_after_activation_in_their_language(app, client, smtp):
    german = {"Accept-Language": "de"}
    page = client.get("/register", headers=german)
    client.post("/register", headers=german, data={"csrf_token": csrf_token(page.text), "email": "rita@example.test",
                                                   "full_name": "Rita Register", "consent": "y"})
    [activation] = smtp.wait_for(1)
    assert welcomes(smtp, "rita@example.test") == []  # not before the account works

    path = link_in(activation, "/activate/")
    assert post_form(client, path, password="a good new password", confirm="a good new password").status_code == 302
    [welcome] = welcomes(smtp, "rita@example.test")
    assert 'lang="de"' in welcome.get_body(("html",)).get_content()
    text = welcome.get_body(("plain",)).get_content()
    assert PORTAL in text and "/activate/" not in text  # the portal, no password link: they chose one

    # A password reset later is no reason to welcome them again.
    accounts.send_password_reset("rita@example.test")
    assert len(smtp.wait_for(3)) == 3
    assert len(welcomes(smtp, "rita@example.test")) == 1


def test_a_customer_made_by_an_admin_gets_a_link_to_choose_their_password(app, client, make_user, smtp):
    admin = make_user("admin")
    jo = accounts.admin_create_customer(admin, "acme-jo", "jo@acme.test", "Jo Acme")
    assert jo.password_hash is None and not jo.is_active

    [welcome] = welcomes(smtp, "jo@acme.test")
    text = welcome.get_body(("plain",)).get_content()
    assert PORTAL in text and "acme-jo" in text
    browser = choose_password(app, link_in(welcome, "/activate/"))
    assert logged_in_as(browser, "Jo Acme")
    assert log_in(app.test_client(), "acme-jo", "my very own password").status_code == 302
    # Choosing the password is not a second welcome; the link worked once.
    assert len(welcomes(smtp, "jo@acme.test")) == 1
    assert app.test_client().get(link_in(welcome, "/activate/")).status_code == 410


def test_create_user_mails_nothing_unless_asked(app, make_user, smtp):
    make_user("customer", email="quiet@example.test")
    accounts.create_user(SYSTEM, email="asked@example.test", full_name="Asked", role="customer", welcome=True)

    assert smtp.wait_for(1) and welcomes(smtp, "quiet@example.test") == []
    assert len(welcomes(smtp, "asked@example.test")) == 1


def test_the_cli_invites_a_customer_without_asking_for_a_password(app, smtp):
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None, "HELPDESK_SMTP_HOST": "127.0.0.1",
           "HELPDESK_SMTP_PORT": str(smtp.port), "HELPDESK_BASE_URL": "http://helpdesk.example.test"}
    result = CliRunner().invoke(main, ["user", "create", "--email", "kim@example.test", "--name", "Kim Customer",
                                       "--role", "customer", "--locale", "tr", "--invite"], env=env)
    assert result.exit_code == 0, result.output
    assert "set-password link" in result.output

    [welcome] = smtp.wait_for(1)
    assert welcome["To"].addresses[0].addr_spec == "kim@example.test"
    assert 'lang="tr"' in welcome.get_body(("html",)).get_content()
    db.session.rollback()
    kim = db.session.scalar(sa.select(User).where(User.email == "kim@example.test"))
    assert kim.password_hash is None and kim.welcomed_at is not None


@pytest.mark.parametrize("args", [["--role", "agent"], ["--role", "customer", "--password", "a long password"]])
def test_the_cli_invites_customers_only_and_never_with_a_password(app, smtp, args):
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None}
    result = CliRunner().invoke(main, ["user", "create", "--email", "lee@example.test", "--name", "Lee", *args,
                                       "--invite"], env=env)
    assert result.exit_code != 0 and "--invite" in result.output
