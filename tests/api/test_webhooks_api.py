"""Webhooks through the API: an admin registers a desk-wide endpoint (the secret shown once), reads and changes it
with If-Match, rotates its secret, sends a test event, reads the delivery log and redelivers; a customer account's
owner manages its own; refusals as problem details; a token without webhooks:manage is refused."""
import pytest
from standardwebhooks.webhooks import Webhook

from helpdesk.accounts.memberships import default_account_id
from helpdesk.extensions import db
from helpdesk.tickets import service as tickets
from helpdesk.webhooks.models import WebhookEndpoint
from tests.api.conftest import pointers, problem_of
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.backends("sqlite")
SCOPE = ["webhooks:manage"]


@pytest.fixture
def app(app_factory, smtp):
    app = app_factory(WEBHOOKS_ALLOW_PRIVATE_NETWORKS=True)  # the receiver is on loopback
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.test")


def create(client, url, **body):
    return client.post("/api/v1/webhooks", json={"url": url, "events": ["ticket.created"], **body})


def test_an_admin_registers_reads_changes_and_deletes_a_desk_wide_endpoint(as_user, admin, receiver):
    client = as_user(admin, SCOPE)
    answer = create(client, receiver.url, description="Monitoring")
    assert answer.status_code == 201
    made = answer.get_json()
    assert made["secret"].startswith("whsec_") and made["account_id"] is None and made["enabled"] is True
    assert made["events"] == ["ticket.created"] and made["disabled_reason"] is None

    read = client.get(f"/api/v1/webhooks/{made['id']}")
    assert read.status_code == 200 and "secret" not in read.get_json()
    assert client.get(f"/api/v1/webhooks/{made['id']}", headers={"If-None-Match": read.headers["ETag"]}
                      ).status_code == 304
    listed = client.get("/api/v1/webhooks").get_json()
    assert [item["id"] for item in listed["items"]] == [made["id"]] and listed["next_cursor"] is None

    changed = client.patch(f"/api/v1/webhooks/{made['id']}", json={"events": ["ticket.closed", "ticket.created"]},
                           headers={"If-Match": read.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["ticket.created", "ticket.closed"]
    stale = client.patch(f"/api/v1/webhooks/{made['id']}", json={"description": "x"},
                         headers={"If-Match": read.headers["ETag"]})
    assert stale.status_code == 412 and problem_of(stale)

    assert client.delete(f"/api/v1/webhooks/{made['id']}").status_code == 204
    assert client.get(f"/api/v1/webhooks/{made['id']}").status_code == 404
    assert db.session.get(WebhookEndpoint, made["id"]) is None


def test_the_secret_signs_and_rotates_and_the_log_shows_the_answer(as_user, admin, receiver):
    client = as_user(admin, SCOPE)
    made = create(client, receiver.url).get_json()
    tested = client.post(f"/api/v1/webhooks/{made['id']}/test")
    assert tested.status_code == 202 and tested.get_json()["kind"] == "webhook.test"
    request = receiver.received[0]
    assert Webhook(made["secret"]).verify(request.body, request.headers)["type"] == "webhook.test"

    rotated = client.post(f"/api/v1/webhooks/{made['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.get_json()["secret"] != made["secret"]
    client.post(f"/api/v1/webhooks/{made['id']}/test")
    assert Webhook(rotated.get_json()["secret"]).verify(receiver.received[1].body, receiver.received[1].headers)

    log = client.get(f"/api/v1/webhooks/{made['id']}/deliveries?limit=1").get_json()
    assert len(log["items"]) == 1 and log["next_cursor"]
    newest = log["items"][0]
    assert newest["status"] == "delivered" and newest["last_status_code"] == 200
    assert newest["last_response"] == '{"ok": true}' and newest["next_attempt_at"] is None
    rest = client.get(f"/api/v1/webhooks/{made['id']}/deliveries?after={log['next_cursor']}").get_json()
    assert len(rest["items"]) == 1

    again = client.post(f"/api/v1/deliveries/{newest['id']}/redeliver")
    assert again.status_code == 202 and again.get_json()["event_id"] == newest["event_id"]
    assert receiver.received[-1].headers["webhook-id"] == newest["event_id"] and len(receiver.received) == 3


def test_a_customer_owner_manages_their_accounts_endpoint(as_user, customer, receiver):
    client = as_user(customer, SCOPE)
    account_id = default_account_id(customer)
    made = create(client, receiver.url, account_id=account_id).get_json()
    assert made["account_id"] == account_id
    listed = client.get("/api/v1/webhooks").get_json()
    assert [item["id"] for item in listed["items"]] == [made["id"]]
    db.session.rollback()  # the test's own session read before the API wrote
    tickets.open_ticket(customer, subject="Hello", body_text="Hi")
    assert receiver.kinds() == ["ticket.created"]


def test_refusals_are_problem_details(as_user, customer, admin, receiver):
    desk = as_user(customer, SCOPE)
    refused = create(desk, receiver.url)
    assert refused.status_code == 403 and problem_of(refused)
    owner = create(desk, receiver.url, account_id=default_account_id(customer), allow_private=True)
    assert owner.status_code == 422 and "#/allow_private" in pointers(owner)
    bad = create(as_user(admin, SCOPE), "ftp://example.com/x", events=["ticket.created", "nonsense"])
    assert bad.status_code == 422 and "#/events/1" in pointers(bad)
    private = create(as_user(admin, SCOPE), "http://127.0.0.1:1/x")  # allowed here by the setting
    assert private.status_code == 201


def test_a_token_without_the_scope_is_refused(as_user, admin, receiver):
    refused = as_user(admin, ["tickets:read"]).get("/api/v1/webhooks")
    assert refused.status_code == 403 and problem_of(refused)["status"] == 403
