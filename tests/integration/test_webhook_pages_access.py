"""Every route of the webhook pages (issue 20) refuses whoever may not use it, with the ids of others' endpoints and
deliveries: a visitor is sent to log in; in the portal a customer of another account gets 404 for Carla's endpoint
ids, a member of Carla's account who is not an owner gets 404 on every page, staff get 404, and Carla herself gets
404 for an endpoint of her other account while she acts for this one (and for a desk-wide one); in the console
customers get 404, agents who are not admins 403, and admins 404 for an account's endpoint. Every change needs its
CSRF token. Nothing the refused requests asked for happens (no endpoint, secret or delivery changes, nothing is
sent). The table of checks must name every (endpoint, method) of the two blueprints."""
import threading

import pytest
import sqlalchemy as sa

from helpdesk.accounts import members, memberships
from helpdesk.accounts.models import PERMISSIONS, CustomerAccount
from helpdesk.extensions import db
from helpdesk.webhooks import service as webhooks
from helpdesk.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import csrf_token, log_in
from tests.fakes.loopback import LoopbackServer

pytestmark = pytest.mark.backends("sqlite")

BLUEPRINTS = ("desk_webhooks", "account_webhooks")
FORM = {"url": "https://93.184.215.14/forged", "description": "forged", "events": "ticket.created"}
DESK_FORM = {**FORM, "allow_private": "y"}
# (endpoint, method): (path, form data). Portal paths name Carla's endpoint, console paths the desk-wide one.
CHECKS = {
    ("account_webhooks.index", "GET"): ("/account/webhooks/", None),
    ("account_webhooks.new", "GET"): ("/account/webhooks/new", None),
    ("account_webhooks.new", "POST"): ("/account/webhooks/new", FORM),
    ("account_webhooks.edit", "GET"): ("/account/webhooks/{endpoint}", None),
    ("account_webhooks.edit", "POST"): ("/account/webhooks/{endpoint}", FORM),
    ("account_webhooks.enable", "POST"): ("/account/webhooks/{endpoint}/enable", {}),
    ("account_webhooks.disable", "POST"): ("/account/webhooks/{endpoint}/disable", {}),
    ("account_webhooks.delete", "GET"): ("/account/webhooks/{endpoint}/delete", None),
    ("account_webhooks.delete", "POST"): ("/account/webhooks/{endpoint}/delete", {}),
    ("account_webhooks.rotate_secret", "POST"): ("/account/webhooks/{endpoint}/rotate-secret", {}),
    ("account_webhooks.send_test", "POST"): ("/account/webhooks/{endpoint}/test", {}),
    ("account_webhooks.deliveries", "GET"): ("/account/webhooks/{endpoint}/deliveries", None),
    ("account_webhooks.redeliver", "POST"): ("/account/webhooks/{endpoint}/deliveries/{delivery}/redeliver", {}),
    ("desk_webhooks.index", "GET"): ("/agent/admin/webhooks/", None),
    ("desk_webhooks.new", "GET"): ("/agent/admin/webhooks/new", None),
    ("desk_webhooks.new", "POST"): ("/agent/admin/webhooks/new", DESK_FORM),
    ("desk_webhooks.edit", "GET"): ("/agent/admin/webhooks/{endpoint}", None),
    ("desk_webhooks.edit", "POST"): ("/agent/admin/webhooks/{endpoint}", DESK_FORM),
    ("desk_webhooks.enable", "POST"): ("/agent/admin/webhooks/{endpoint}/enable", {}),
    ("desk_webhooks.disable", "POST"): ("/agent/admin/webhooks/{endpoint}/disable", {}),
    ("desk_webhooks.delete", "GET"): ("/agent/admin/webhooks/{endpoint}/delete", None),
    ("desk_webhooks.delete", "POST"): ("/agent/admin/webhooks/{endpoint}/delete", {}),
    ("desk_webhooks.rotate_secret", "POST"): ("/agent/admin/webhooks/{endpoint}/rotate-secret", {}),
    ("desk_webhooks.send_test", "POST"): ("/agent/admin/webhooks/{endpoint}/test", {}),
    ("desk_webhooks.deliveries", "GET"): ("/agent/admin/webhooks/{endpoint}/deliveries", None),
    ("desk_webhooks.redeliver", "POST"): ("/agent/admin/webhooks/{endpoint}/deliveries/{delivery}/redeliver", {}),
}
# Pages about no endpoint in particular: someone refused sees none of them; someone who may use them sees their own.
LISTS = {key for key, (path, _data) in CHECKS.items() if "{endpoint}" not in path}


class Receiver:
    """A receiver on loopback that counts what it was sent."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self).start()

    def __call__(self, environ, start_response):
        with self.lock:
            self.requests.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.server.stop()


def test_the_checks_name_every_route_of_the_webhook_pages(app):
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              if rule.endpoint.split(".")[0] in BLUEPRINTS for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert sorted(routes - set(CHECKS)) == [], "routes without an access check"
    assert sorted(set(CHECKS) - routes) == [], "checks of routes that are gone"


@pytest.fixture
def world(app, client, customer, agent, make_user, receiver):
    """Ada (admin) has a desk-wide endpoint; Carla owns her account A (an endpoint) and Carla Ltd (another); Dora
    owns account B (an endpoint); Tom is in A with every permission but not an owner. Each endpoint has delivered
    a test event."""
    ada = make_user("admin", email="ada@example.test", full_name="Ada Admin")
    account_a = memberships.ensure_personal_account(customer)
    carla_ltd = CustomerAccount(name="Carla Ltd", kind="business")
    db.session.add(carla_ltd)
    members.join(carla_ltd, customer, [], owner=True)
    dora = make_user("customer", email="dora@example.test", full_name="Dora Other")
    account_b = memberships.ensure_personal_account(dora)
    tom = make_user("customer", email="tom@example.test", full_name="Tom Everything")
    members.join(account_a, tom, list(PERMISSIONS))
    db.session.commit()
    ids = {"account": account_a.id}

    def endpoint(name, account_id):
        # Admins may look after an account's endpoints and let them reach loopback (the receiver).
        made, _secret = webhooks.create_endpoint(ada, url=f"{receiver.server.url}/{name}", events=["ticket.created"],
                                                 account_id=account_id, allow_private=True)
        ids[name] = made.id
        ids[f"{name}_delivery"] = webhooks.send_test(ada, made.id).id

    endpoint("desk", None)
    endpoint("carla", account_a.id)
    endpoint("carla_ltd", carla_ltd.id)
    endpoint("dora", account_b.id)
    receiver.requests.clear()
    return ids


def browser(app, login=None):
    client = app.test_client()
    if login:
        log_in(client, login)
    return client, csrf_token(client.get("/login" if login is None else "/").get_data(as_text=True))


def call(client, token, key, ids, *, endpoint=None, delivery=None, with_token=True):
    path, data = CHECKS[key]
    name = endpoint or ("desk" if key[0].startswith("desk_") else "carla")
    path = path.format(endpoint=ids[name], delivery=ids[f"{delivery or name}_delivery"])
    if key[1] == "GET":
        return client.get(path)
    return client.post(path, data={**({"csrf_token": token} if with_token else {}), **(data or {})})


def state():
    db.session.rollback()
    endpoints = db.session.execute(sa.select(
        WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.description, WebhookEndpoint.events,
        WebhookEndpoint.enabled, WebhookEndpoint.allow_private, WebhookEndpoint.secret).order_by(WebhookEndpoint.id))
    return {"endpoints": [tuple(row) for row in endpoints],
            "deliveries": db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id)))}


def to_login(response):
    return response.status_code == 302 and "/login" in response.headers["Location"]


class Expect:
    def __init__(self):
        self.wrong = []

    def __call__(self, who, key, response, allowed, *, not_shown=()):
        ok = allowed(response) if callable(allowed) else response.status_code in allowed
        text = response.get_data(as_text=True)
        shown = [words for words in not_shown if words in text]
        if not ok or shown:
            self.wrong.append(f"{who} {key[1]} {key[0]}: {response.status_code} "
                              f"{response.headers.get('Location', '')} {shown}")


def test_every_route_refuses_visitors_other_accounts_non_owners_staff_and_customers_in_the_console(
        app, world, receiver):
    before = state()
    expect = Expect()
    visitor = browser(app)
    dora = browser(app, "dora@example.test")
    tom = browser(app, "tom@example.test")
    assert tom[0].post("/account/switch", data={"csrf_token": tom[1], "account_id": world["account"]}
                       ).status_code == 302  # Tom acts for Carla's account
    carla = browser(app, "carla@example.test")
    assert carla[0].post("/account/switch", data={"csrf_token": carla[1], "account_id": world["account"]}
                         ).status_code == 302  # Carla acts for account A, not Carla Ltd
    agent = browser(app, "agent@example.test")
    ada = browser(app, "ada@example.test")
    carlas = ("/carla", "/carla_ltd")
    for key in CHECKS:
        expect("visitor", key, call(*visitor, key, world), to_login)
        if key[0].startswith("account_"):
            for who, (client, token) in (("tom", tom), ("agent", agent), ("ada", ada)):
                expect(who, key, call(client, token, key, world), (404,))
            if key in LISTS:
                if key[1] == "GET":  # her own list and form (adding to her own account is hers to do)
                    expect("dora", key, call(*dora, key, world), (200,), not_shown=carlas)
            else:
                expect("dora", key, call(*dora, key, world), (404,))
                # Carla: her other account's endpoint and the desk's, while she acts for account A.
                for name in ("carla_ltd", "desk"):
                    expect(f"carla/{name}", key, call(*carla, key, world, endpoint=name), (404,))
        else:
            for who, (client, token) in (("carla", carla), ("dora", dora), ("tom", tom)):
                expect(who, key, call(client, token, key, world), (404,))
            expect("agent", key, call(*agent, key, world), (403,))
            if key not in LISTS:  # an account's endpoint is not the console's
                expect("ada/carla", key, call(*ada, key, world, endpoint="carla"), (404,))
    # A delivery of another endpoint through the address of one's own endpoint.
    key = ("account_webhooks.redeliver", "POST")
    expect("dora", key, call(*dora, key, world, endpoint="dora", delivery="carla"), (404,))
    expect("carla", key, call(*carla, key, world, endpoint="carla", delivery="carla_ltd"), (404,))
    key = ("desk_webhooks.redeliver", "POST")
    expect("ada", key, call(*ada, key, world, endpoint="desk", delivery="carla"), (404,))
    # Dora's own pages show only her own endpoint.
    assert "/dora" in dora[0].get("/account/webhooks/").text

    assert expect.wrong == []
    assert state() == before
    assert receiver.requests == []


def test_the_rightful_owners_may_use_every_page(app, world):
    carla = browser(app, "carla@example.test")
    ada = browser(app, "ada@example.test")
    for key in CHECKS:
        if key[1] == "GET":
            client = carla if key[0].startswith("account_") else ada
            assert call(*client, key, world).status_code == 200, key


def test_every_change_needs_its_csrf_token(app, world, receiver):
    before = state()
    carla = browser(app, "carla@example.test")
    ada = browser(app, "ada@example.test")
    for key in CHECKS:
        if key[1] == "POST":
            client = carla if key[0].startswith("account_") else ada
            response = call(*client, key, world, with_token=False)
            assert response.status_code == 400, key
            assert "whsec_" not in response.get_data(as_text=True)
    assert state() == before
    assert receiver.requests == []
