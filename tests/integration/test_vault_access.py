"""The credential vault belongs to its account: another account's members, members without the vault permission,
staff and visitors neither see nor change nor reveal anything in it, on any route, with or without a form; a member
who may see the vault but not edit it reveals, and changes nothing. Nothing is recorded as revealed for a refusal."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import Membership
from helpdesk.audit.models import AuditEvent
from helpdesk.extensions import db
from helpdesk.vault import service as vault
from helpdesk.vault.models import VaultEntry
from tests.conftest import csrf_token, log_in
from tests.integration.test_vault import NOTES, PASSWORD, add_entry, only_member_of, own_account

pytestmark = pytest.mark.backends("postgresql")

PAGE = "/account/vault"
FORM = {"service": "Changed", "url": "https://evil.example/", "username": "x", "password": "p", "notes": "n"}


def routes(entry_id):
    """Every vault route with the data a browser would send (CSRF token added by the caller)."""
    return [("GET", PAGE, None), ("POST", PAGE, FORM), ("GET", f"{PAGE}/{entry_id}/edit", None),
            ("POST", f"{PAGE}/{entry_id}/edit", FORM), ("POST", f"{PAGE}/{entry_id}/remove", {}),
            ("POST", f"{PAGE}/{entry_id}/reveal/password", {}), ("POST", f"{PAGE}/{entry_id}/reveal/notes", {})]


def token_of(client):
    """A CSRF token of this browser's session (from a page every logged-in person may open)."""
    return csrf_token(client.get("/profile").text)


def call(client, method, path, data, token):
    if method == "GET":
        return client.get(path)
    return client.post(path, data={**data, "csrf_token": token} if token else data)


def state():
    """Everything the vault holds and everything recorded about it, to show nothing changed."""
    db.session.rollback()
    entries = db.session.execute(sa.select(VaultEntry.id, VaultEntry.account_id, VaultEntry.service, VaultEntry.url,
                                           VaultEntry.username_sealed, VaultEntry.password_sealed,
                                           VaultEntry.notes_sealed).order_by(VaultEntry.id)).all()
    trail = db.session.execute(sa.select(AuditEvent.action, AuditEvent.changes)
                               .where(AuditEvent.entity == "vault").order_by(AuditEvent.id)).all()
    return entries, trail


def leaked(page) -> list:
    return [s for s in (PASSWORD, "PIN 4411", "tarhely.eu", "ugyfelneve.marketing") if s in page.text]


@pytest.fixture
def carla_vault(app, customer):
    """Carla's account with one line of access data."""
    account = own_account(customer)
    return account, add_entry(customer, account)


def test_another_accounts_member_gets_404_for_its_entries_on_every_route(app, client, customer, make_user,
                                                                         carla_vault):
    _account, entry = carla_vault
    dora = make_user("customer", email="dora@example.test")
    dora_account = own_account(dora)
    add_entry(dora, dora_account, service="Dora's own", url="https://dora.example/", username="dora",
              password="dora-pw", notes="dora notes")
    before = state()
    log_in(client, "dora@example.test")
    token = token_of(client)

    for method, path, data in routes(entry.id)[2:]:  # Carla's entry id in Dora's own vault's routes
        answer = call(client, method, path, data, token)
        assert answer.status_code == 404, (method, path)
        assert not leaked(answer), (method, path)
    for field in ("password", "notes"):  # the JSON answer the page's script asks for is refused alike
        answer = client.post(f"{PAGE}/{entry.id}/reveal/{field}", data={"csrf_token": token},
                             headers={"Accept": "application/json"})
        assert answer.status_code == 404 and not leaked(answer) and "PIN 4411" not in answer.text
    assert state() == before
    # Her own vault works and shows only her own access data.
    page = client.get(PAGE)
    assert page.status_code == 200 and "Dora&#39;s own" in page.text and not leaked(page)


def test_a_member_without_the_vault_permission_is_refused_everywhere(app, client, customer, make_user,
                                                                    carla_vault):
    account, entry = carla_vault
    bob = make_user("customer", email="bob@example.test")
    only_member_of(bob, account, can_tickets=True, can_billing=True)
    before = state()
    log_in(client, "bob@example.test")
    token = token_of(client)

    assert "/account/vault" not in client.get("/account").text  # the account's page does not link it either
    for method, path, data in routes(entry.id):
        answer = call(client, method, path, data, token)
        assert answer.status_code == 403, (method, path)
        assert not leaked(answer), (method, path)
    assert state() == before


def test_a_member_who_may_see_but_not_edit_reveals_and_changes_nothing(app, client, customer, make_user,
                                                                       carla_vault):
    account, entry = carla_vault
    vera = make_user("customer", email="vera@example.test", full_name="Vera Viewer")
    only_member_of(vera, account, can_tickets=False, can_vault_view=True)
    log_in(client, "vera@example.test")
    token = token_of(client)

    assert 'href="/account/vault"' in client.get("/account").text  # the account's page links the vault
    page = client.get(PAGE)
    assert page.status_code == 200 and "tarhely.eu" in page.text
    assert f"{PAGE}/{entry.id}/edit" not in page.text and 'name="service"' not in page.text
    before = state()
    for method, path, data in routes(entry.id)[1:5]:  # add, edit (page and form), remove
        answer = call(client, method, path, data, token)
        assert answer.status_code == 403, (method, path)
        assert PASSWORD not in answer.text
    assert state() == before

    answer = client.post(f"{PAGE}/{entry.id}/reveal/password", data={"csrf_token": token})
    assert answer.status_code == 200 and PASSWORD in answer.text
    assert state()[1][-1] == ("secret-revealed", {"entry": entry.id, "service": "tarhely.eu", "field": "password"})


def test_staff_do_not_see_customers_secrets(app, client, agent, make_user, carla_vault):
    _account, entry = carla_vault
    make_user("admin", email="ada@example.test")
    before = state()
    for login in ("agent@example.test", "ada@example.test"):
        staff = app.test_client()
        log_in(staff, login)
        token = token_of(staff)
        for method, path, data in routes(entry.id):
            answer = call(staff, method, path, data, token)
            assert answer.status_code == 404, (login, method, path)
            assert not leaked(answer), (login, method, path)
    assert state() == before


def test_visitors_are_sent_to_log_in_and_learn_nothing(app, client, carla_vault):
    _account, entry = carla_vault
    before = state()
    token = csrf_token(client.get("/login").text)  # a visitor's browser has a session and a token too
    for method, path, data in routes(entry.id):
        answer = call(client, method, path, data, token)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], (method, path)
        assert not leaked(answer), (method, path)
    assert state() == before


def test_every_change_and_reveal_needs_the_forms_csrf_token(app, client, customer, carla_vault):
    _account, entry = carla_vault
    log_in(client, "carla@example.test")
    before = state()
    for _method, path, data in routes(entry.id)[1:]:
        if _method == "POST":
            answer = client.post(path, data=data)
            assert answer.status_code in (302, 400), path
            assert PASSWORD not in answer.text and "PIN 4411" not in answer.text, path
    assert state() == before


def test_a_field_that_is_no_secret_or_holds_nothing_is_not_revealed(app, client, customer, carla_vault):
    account, _entry = carla_vault
    empty = add_entry(customer, account, service="No password", password="", notes="")
    log_in(client, "carla@example.test")
    token = token_of(client)
    before = state()
    for path in (f"{PAGE}/{empty.id}/reveal/password", f"{PAGE}/{empty.id}/reveal/notes",
                 f"{PAGE}/{empty.id}/reveal/username", f"{PAGE}/{empty.id}/reveal/service"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert state() == before
    with pytest.raises(Exception) as caught:
        vault.reveal(customer, account.id, empty.id, "username")
    assert type(caught.value).__name__ == "NotFound"
    assert NOTES not in str(caught.value)


def test_an_agency_login_sees_the_vault_of_the_account_it_acts_for_only(app, client, customer, make_user,
                                                                       carla_vault):
    """The agency is a member of two customers' accounts and switches between them in the header."""
    carla_account, carla_entry = carla_vault
    dora = make_user("customer", email="dora@example.test", full_name="Dora Other")
    dora_account = own_account(dora)
    dora_entry = add_entry(dora, dora_account, service="Dora's mail", url="https://mail.dora.example/",
                           username="dora", password="dora-password", notes="dora notes")
    agency = make_user("customer", email="penzugy@sparrow.test", full_name="Sparrow Agency")
    only_member_of(agency, carla_account, can_vault_view=True, can_vault_edit=True)
    db.session.add(Membership(account_id=dora_account.id, user_id=agency.id, can_vault_view=True))
    db.session.commit()
    log_in(client, "penzugy@sparrow.test")

    def act_for(account):
        client.post("/account/switch", data={"csrf_token": token_of(client), "account_id": account.id})

    act_for(carla_account)
    page = client.get(PAGE).text
    assert "tarhely.eu" in page and "Dora&#39;s mail" not in page
    token = token_of(client)
    assert client.post(f"{PAGE}/{dora_entry.id}/reveal/password", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{PAGE}/{carla_entry.id}/reveal/password", data={"csrf_token": token}).status_code == 200

    act_for(dora_account)
    page = client.get(PAGE).text
    assert "Dora&#39;s mail" in page and "tarhely.eu" not in page
    assert client.post(f"{PAGE}/{carla_entry.id}/reveal/password", data={"csrf_token": token}).status_code == 404
    answer = client.post(f"{PAGE}/{dora_entry.id}/reveal/password", data={"csrf_token": token})
    assert answer.status_code == 200 and "dora-password" in answer.text
    # In Dora's account the agency may look but not edit.
    assert client.get(f"{PAGE}/{dora_entry.id}/edit").status_code == 403
    revealed = [(c["entry"], c["field"]) for action, c in state()[1] if action == "secret-revealed"]
    assert revealed == [(carla_entry.id, "password"), (dora_entry.id, "password")]
