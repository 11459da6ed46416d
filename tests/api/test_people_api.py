"""Customers, organisations, departments, agents and customer accounts with their members through the API: staff
read and change them as in the console, customers reach only their own accounts, and the members service decides
who may add and remove members."""
import pytest

from helpdesk.accounts import memberships
from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from tests.api.conftest import pointers, problem_of

pytestmark = pytest.mark.backends("sqlite")


def ids(response, key="id"):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item[key] for item in response.get_json()["items"]]


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.test", full_name="Ada Admin")


def test_staff_page_through_customers_and_find_them_by_name_or_address(as_user, agent, make_user):
    made = [make_user("customer", full_name=f"Person {n}").id for n in range(5)]
    zoe = make_user("customer", email="zoe@elsewhere.test", full_name="Zoë Quinn").id
    client = as_user(agent, ["customers:read"])
    first = client.get("/api/v1/customers?limit=3")
    assert ids(first) == [zoe, made[4], made[3]]
    second = client.get(f"/api/v1/customers?limit=3&after={first.get_json()['next_cursor']}")
    assert ids(second) == [made[2], made[1], made[0]]
    assert second.get_json()["next_cursor"] is None
    assert agent.id not in ids(client.get("/api/v1/customers?limit=100"))  # staff logins are no customers
    assert ids(client.get("/api/v1/customers?q=ELSEWHERE")) == [zoe]
    assert ids(client.get("/api/v1/customers?q=quinn")) == [zoe]
    bad = client.get("/api/v1/customers?after=not-a-cursor")
    assert bad.status_code == 422 and pointers(bad) == {"after"}


def test_a_customer_reads_with_an_etag_and_a_stale_if_match_cannot_overwrite(api_client, token_for, admin, customer):
    api_client.token = token_for(admin, ["customers:read", "customers:write"])
    path = f"/api/v1/customers/{customer.id}"
    read = api_client.get(path)
    assert read.status_code == 200
    assert read.get_json()["email"] == customer.email and read.get_json()["has_password"] is True
    assert api_client.get(path, headers={"If-None-Match": read.headers["ETag"]}).status_code == 304
    changed = api_client.patch(path, json={"phone": "+49 30 1234567", "timezone": "Europe/Berlin", "locale": None},
                               headers={"If-Match": read.headers["ETag"]})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["timezone"] == "Europe/Berlin" and changed.get_json()["locale"] is None
    assert changed.headers["ETag"] != read.headers["ETag"]
    stale = api_client.patch(path, json={"full_name": "Someone Else"}, headers={"If-Match": read.headers["ETag"]})
    assert stale.status_code == 412 and problem_of(stale)["status"] == 412
    assert api_client.get(path).get_json()["full_name"] == "Carla Customer"


def test_a_change_lists_every_bad_field(as_user, admin, customer):
    response = as_user(admin, ["customers:write"]).patch(
        f"/api/v1/customers/{customer.id}", json={"full_name": " ", "locale": "xx", "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    assert pointers(response) == {"#/full_name", "#/locale", "#/timezone"}
    wrong_types = as_user(admin, ["customers:write"]).patch(f"/api/v1/customers/{customer.id}",
                                                            json={"full_name": 5, "phone": ["a"]})
    assert pointers(wrong_types) == {"#/full_name", "#/phone"}


def test_agents_read_customers_but_only_admins_change_them_as_in_the_console(as_user, agent, customer):
    client = as_user(agent, ["customers:read", "customers:write"])
    assert client.get(f"/api/v1/customers/{customer.id}").status_code == 200
    assert client.patch(f"/api/v1/customers/{customer.id}", json={"full_name": "Changed"}).status_code == 403
    assert client.post("/api/v1/customers", json={"email": "new@example.test", "full_name": "New"}).status_code \
        == 403


def test_an_admin_creates_a_customer_who_is_mailed_a_link_to_choose_a_password(as_user, admin, smtp, app):
    client = as_user(admin, ["customers:read", "customers:write"])
    body = {"email": "Nina@Example.test", "full_name": "Nina New", "locale": "de"}
    created = client.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "nina"})
    assert created.status_code == 201, created.get_data(as_text=True)
    nina = created.get_json()
    assert nina["email"] == "nina@example.test" and nina["has_password"] is False and nina["locale"] == "de"
    again = client.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "nina"})
    assert again.status_code == 201 and again.get_json()["id"] == nina["id"]
    user = accounts.get_by_email("nina@example.test")
    assert user.welcomed_at is not None and memberships.default_account_id(user) is not None
    duplicate = client.post("/api/v1/customers", json={"email": "ada@example.test", "full_name": ""})
    assert duplicate.status_code == 422 and pointers(duplicate) == {"#/email", "#/full_name"}
    missing = client.post("/api/v1/customers", json={})
    assert pointers(missing) == {"#/email", "#/full_name"}


def test_staff_read_organisations_departments_and_agents(as_user, agent, department, admin):
    acme = accounts.create_organisation(SYSTEM, name="Acme Ltd", customer_number="C-1")
    other = accounts.create_organisation(SYSTEM, name="Globex")
    client = as_user(agent, ["customers:read"])
    assert ids(client.get("/api/v1/organisations")) == [other.id, acme.id]
    assert ids(client.get("/api/v1/organisations?q=c-1")) == [acme.id]
    read = client.get(f"/api/v1/organisations/{acme.id}")
    assert read.get_json()["name"] == "Acme Ltd" and read.get_json()["customer_number"] == "C-1"
    assert client.get("/api/v1/organisations/999999").status_code == 404
    assert ids(client.get("/api/v1/departments")) == [department.id]
    agents = {a["email"]: a for a in client.get("/api/v1/agents").get_json()["items"]}
    assert agents["agent@example.test"]["departments"] == [{"id": department.id, "name": "Technical"}]
    assert agents["ada@example.test"]["role"] == "admin" and agents["ada@example.test"]["departments"] == []


def test_a_customer_lists_their_accounts_and_staff_every_account(as_user, customer, make_user, agent):
    other = make_user("customer", full_name="Otto Other")
    mine = memberships.default_account_id(customer)
    theirs = memberships.default_account_id(other)
    assert ids(as_user(customer, ["customers:read"]).get("/api/v1/accounts")) == [mine]
    staff = as_user(agent, ["customers:read"])
    assert set(ids(staff.get("/api/v1/accounts"))) == {mine, theirs}
    assert ids(staff.get("/api/v1/accounts?q=otto")) == [theirs]
    account = as_user(customer, ["customers:read"]).get(f"/api/v1/accounts/{mine}")
    assert account.status_code == 200 and account.get_json()["name"] == "Carla Customer"


def test_staff_add_a_customer_and_an_owner_s_addition_is_an_invitation(as_user, customer, make_user, agent, smtp):
    account = memberships.default_account_id(customer)
    bob = make_user("customer", email="bob@example.test", full_name="Bob Member")
    added = as_user(agent, ["customers:write"]).post(f"/api/v1/accounts/{account}/members",
                                                     json={"email": "bob@example.test", "permissions": ["tickets"]})
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json() == {**added.get_json(), "user_id": bob.id, "owner": False, "permissions": ["tickets"]}
    invited = as_user(customer, ["customers:write"]).post(
        f"/api/v1/accounts/{account}/members", json={"email": "dora@example.test", "permissions": ["billing"]})
    assert invited.status_code == 202, invited.get_data(as_text=True)
    assert invited.get_json()["email"] == "dora@example.test"
    listed = as_user(customer, ["customers:read"]).get(f"/api/v1/accounts/{account}/members")
    assert ids(listed, "user_id") == [customer.id, bob.id]
    assert listed.get_json()["items"][0]["owner"] is True
    refused = as_user(customer, ["customers:write"]).post(f"/api/v1/accounts/{account}/members",
                                                         json={"email": "bad", "permissions": ["everything"]})
    assert refused.status_code == 422 and pointers(refused) == {"#/email", "#/permissions"}


def test_members_are_removed_by_managers_and_leave_by_themselves_never_the_last_owner(
        as_user, customer, make_user, agent):
    account = memberships.default_account_id(customer)
    staff = as_user(agent, ["customers:write"])
    bob, eve = make_user("customer", email="bob@example.test"), make_user("customer", email="eve@example.test")
    for person in ("bob@example.test", "eve@example.test"):
        assert staff.post(f"/api/v1/accounts/{account}/members",
                          json={"email": person, "permissions": ["tickets"]}).status_code == 201
    owner = as_user(customer, ["customers:read", "customers:write"])
    assert owner.delete(f"/api/v1/accounts/{account}/members/{bob.id}").status_code == 204
    assert owner.delete(f"/api/v1/accounts/{account}/members/{bob.id}").status_code == 404
    last_owner = owner.delete(f"/api/v1/accounts/{account}/members/{customer.id}")
    assert last_owner.status_code == 409 and problem_of(last_owner)["status"] == 409
    member = as_user(eve, ["customers:read", "customers:write"])
    assert member.get(f"/api/v1/accounts/{account}/members").status_code == 403  # no members permission
    assert member.delete(f"/api/v1/accounts/{account}/members/{customer.id}").status_code == 403
    assert member.delete(f"/api/v1/accounts/{account}/members/{eve.id}").status_code == 204  # leaves
    assert ids(as_user(customer, ["customers:read"]).get(f"/api/v1/accounts/{account}/members"), "user_id") == \
        [customer.id]
