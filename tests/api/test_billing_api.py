"""Billing through the API: an account's orders, invoices (JSON with ETag, and the portal's PDF), payments and
services, and staff recording a payment as the console books a transfer (one payment per bank reference, however
often it is sent)."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts.memberships import default_account_id
from helpdesk.accounts.models import Membership
from helpdesk.billing import access
from helpdesk.billing.models import FINAL, PROFORMA, Invoice, Payment
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from tests.api.conftest import ApiClient, openapi_of, pointers, problem_of
from tests.integration.billing_shop import at_once, billing_app, build_shop, order

pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def shop(app):
    shop = build_shop()
    shop.order, shop.invoice = order(shop.carla, shop.carla_account, shop.web)
    shop.account_id = shop.carla_account.customer_account_id
    access.grant_billing(shop.admin, shop.agent)  # Alex may change billing, as the console's booking needs
    with_logins(shop.admin, shop.agent, shop.carla, shop.bora)
    return shop


def with_logins(*users):
    """The shop's people have no password (nobody logs in there); an API token needs an active login."""
    from helpdesk.accounts.service import hash_password

    digest = hash_password("correct horse battery")
    for user in users:
        user.password_hash = digest
    db.session.commit()


def _payments():
    db.session.rollback()  # a new transaction sees what the requests committed
    return db.session.scalar(sa.select(sa.func.count()).select_from(Payment))


def test_a_member_reads_the_accounts_orders_invoices_and_services(as_user, shop):
    client = as_user(shop.carla, ["billing:read"])
    base = f"/api/v1/accounts/{shop.account_id}"
    orders = client.get(f"{base}/orders").get_json()
    assert [o["id"] for o in orders["items"]] == [shop.order.id]
    assert orders["items"][0]["invoice_id"] == shop.invoice.id and orders["items"][0]["status"] == "pending"
    assert orders["items"][0]["account_id"] == shop.account_id
    invoices = client.get(f"{base}/invoices").get_json()
    assert [i["id"] for i in invoices["items"]] == [shop.invoice.id]
    services = client.get(f"{base}/services").get_json()["items"]
    assert [s["id"] for s in services] == [s.id for s in shop.order.services]
    assert services[0]["status"] == "pending" and services[0]["name"].startswith("Web hosting")
    assert client.get(f"{base}/payments").get_json() == {"items": [], "next_cursor": None, "prev_cursor": None}
    assert client.get(f"/api/v1/orders/{shop.order.id}").get_json()["service_ids"] == [s["id"] for s in services]
    one = client.get(f"/api/v1/services/{services[0]['id']}").get_json()
    assert one["product_id"] == shop.web.id and one["cycle"] == "monthly"


def test_lists_are_keyset_pages_newest_first(as_user, shop):
    more = [order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")[0] for _ in range(2)]
    ids = [more[1].id, more[0].id, shop.order.id]
    client = as_user(shop.carla, ["billing:read"])
    base = f"/api/v1/accounts/{shop.account_id}/orders"
    first = client.get(f"{base}?limit=2").get_json()
    assert [o["id"] for o in first["items"]] == ids[:2] and first["prev_cursor"] is None
    second = client.get(f"{base}?limit=2&after={first['next_cursor']}").get_json()
    assert [o["id"] for o in second["items"]] == ids[2:] and second["next_cursor"] is None
    back = client.get(f"{base}?limit=2&before={second['prev_cursor']}").get_json()
    assert [o["id"] for o in back["items"]] == ids[:2]
    bad = client.get(f"{base}?after=not-a-cursor")
    assert bad.status_code == 422 and "after" in pointers(bad)


def test_the_invoice_reads_as_it_was_frozen_with_an_etag(as_user, shop):
    invoice = shop.invoice
    client = as_user(shop.carla, ["billing:read"])
    answer = client.get(f"/api/v1/invoices/{invoice.id}")
    body = answer.get_json()
    assert body["status"] == PROFORMA and body["number"] is None and body["reference"] == invoice.reference
    assert body["total"] == {"amount": invoice.total, "currency": "EUR"}
    assert body["net_total"]["amount"] + body["tax_total"]["amount"] == body["total"]["amount"]
    assert body["balance_due"] == body["total"] and body["amount_paid"] == {"amount": 0, "currency": "EUR"}
    assert [(line["description"], line["gross"]["amount"]) for line in body["lines"]] == \
        [(line.description, line.gross) for line in invoice.lines]
    assert body["taxes"] == [{"name": "USt.", "rate_bp": 1900, "net": body["net_total"], "tax": body["tax_total"]}]
    assert body["buyer"]["name"] == "Carla Kunde" and body["seller"]["name"] == "Example Hosting GmbH"
    again = client.get(f"/api/v1/invoices/{invoice.id}", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_the_invoice_pdf_is_the_portals_pdf(as_user, shop):
    client = as_user(shop.carla, ["billing:read"])
    answer = client.get(f"/api/v1/invoices/{shop.invoice.id}/pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF-")
    assert f"{shop.invoice.reference}.pdf" in answer.headers["Content-Disposition"]


def test_staff_record_a_payment_and_the_invoice_is_paid(as_user, shop):
    invoice = shop.invoice
    client = as_user(shop.agent, ["billing:read", "billing:write"])
    answer = client.post("/api/v1/payments", json={"invoice_id": invoice.id, "bank_reference": "STMT-1",
                                                   "amount": {"amount": invoice.total, "currency": "EUR"}})
    assert answer.status_code == 201
    payment = answer.get_json()
    assert payment["invoice_id"] == invoice.id and payment["source"] == "bank_transfer"
    assert payment["applied"] == {"amount": invoice.total, "currency": "EUR"} and payment["credited"]["amount"] == 0
    paid = client.get(f"/api/v1/invoices/{invoice.id}").get_json()
    assert paid["status"] == FINAL and paid["number"] and paid["balance_due"]["amount"] == 0
    listed = client.get(f"/api/v1/accounts/{shop.account_id}/payments").get_json()["items"]
    assert [p["id"] for p in listed] == [payment["id"]]
    assert client.get(f"/api/v1/orders/{shop.order.id}").get_json()["status"] == "active"


def test_a_repeated_payment_is_booked_once(as_user, shop):
    client = as_user(shop.agent, ["billing:write"])
    body = {"invoice_id": shop.invoice.id, "bank_reference": "STMT-2",
            "amount": {"amount": 500, "currency": "EUR"}}
    first = client.post("/api/v1/payments", json=body, headers={"Idempotency-Key": "pay-1"})
    replay = client.post("/api/v1/payments", json=body, headers={"Idempotency-Key": "pay-1"})
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json() == first.get_json()
    # Another key (a client that lost its key) with the same bank reference: still the first payment.
    other = client.post("/api/v1/payments", json=body, headers={"Idempotency-Key": "pay-2"})
    assert other.status_code == 201 and other.get_json()["id"] == first.get_json()["id"]
    assert _payments() == 1
    reused = client.post("/api/v1/payments", json={**body, "bank_reference": "STMT-3"},
                         headers={"Idempotency-Key": "pay-1"})
    assert reused.status_code == 422 and _payments() == 1
    invoice = client.get(f"/api/v1/invoices/{shop.invoice.id}")
    assert invoice.status_code == 403  # the token lacks billing:read
    db.session.expire_all()
    assert shop.invoice.amount_paid == 500 and shop.invoice.status == PROFORMA


@pytest.mark.backends("postgresql")
def test_the_same_payment_sent_at_once_is_booked_once(app, shop, token_for, backend):
    """Four requests at the same moment, two Idempotency-Keys, one bank reference: one payment."""
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite has one writer at a time)")
    token = token_for(shop.agent, ["billing:write"])
    body = {"invoice_id": shop.invoice.id, "bank_reference": "STMT-RACE",
            "amount": {"amount": 700, "currency": "EUR"}}

    def send(i):
        client = ApiClient(app, app.response_class)
        client.token = token
        answer = client.post("/api/v1/payments", json=body, headers={"Idempotency-Key": f"race-{i % 2}"})
        return answer.status_code, (answer.get_json() or {}).get("id")

    openapi_of(app)  # the contract checker, built once here rather than by each thread
    results, errors = at_once(app, 4, send)
    assert errors == []
    assert {status for status, _ in results} <= {201, 409}  # 409: the same key's first request still running
    assert len({payment_id for status, payment_id in results if status == 201}) == 1
    assert _payments() == 1
    assert db.session.get(Invoice, shop.invoice.id).amount_paid == 700


def test_a_large_payment_waits_for_a_second_staff_member(as_user, shop):
    _placed, big = order(shop.carla, shop.carla_account, shop.web, cycle="monthly", quantity=100)
    assert big.total > 100_000
    client = as_user(shop.agent, ["billing:write"])
    answer = client.post("/api/v1/payments", json={"invoice_id": big.id, "bank_reference": "STMT-BIG",
                                                   "amount": {"amount": big.total, "currency": "EUR"}})
    assert answer.status_code == 202
    assert answer.get_json()["status"] == "awaiting_approval" and answer.get_json()["payment_id"] is None
    assert _payments() == 0


def test_customers_and_agents_without_the_billing_right_cannot_record_payments(as_user, shop, make_user):
    body = {"invoice_id": shop.invoice.id, "bank_reference": "STMT-4", "amount": {"amount": 100, "currency": "EUR"}}
    for person in (shop.carla, make_user("agent")):
        refused = as_user(person, ["billing:write"]).post("/api/v1/payments", json=body)
        assert refused.status_code == 403 and problem_of(refused)["status"] == 403
    assert _payments() == 0


def test_a_payment_in_another_currency_or_without_a_reference_is_rejected_field_by_field(as_user, shop):
    client = as_user(shop.agent, ["billing:write"])
    wrong = client.post("/api/v1/payments", json={"invoice_id": shop.invoice.id, "bank_reference": "STMT-5",
                                                  "amount": {"amount": 100, "currency": "TRY"}})
    assert wrong.status_code == 422 and pointers(wrong) == {"#/amount/currency"}
    missing = client.post("/api/v1/payments", json={"invoice_id": shop.invoice.id})
    assert missing.status_code == 422 and {"#/amount", "#/bank_reference"} <= pointers(missing)
    assert _payments() == 0


def test_a_member_of_two_accounts_reads_each(as_user, shop):
    """Bora is a member of Carla's account with the billing permission too: the API acts for the account asked."""
    db.session.add(Membership(account_id=shop.account_id, user_id=shop.bora.id, can_billing=True))
    db.session.commit()
    client = as_user(shop.bora, ["billing:read"])
    assert client.get(f"/api/v1/invoices/{shop.invoice.id}").status_code == 200
    listed = client.get(f"/api/v1/accounts/{shop.account_id}/invoices").get_json()["items"]
    assert [i["id"] for i in listed] == [shop.invoice.id]
    own = client.get(f"/api/v1/accounts/{shop.bora_account.customer_account_id}/invoices").get_json()["items"]
    assert own == []


def test_account_for_answers_as_the_portal_would(shop, make_user):
    """billing.access.account_for, the API's way from a customer account to its billing."""
    assert access.account_for(shop.agent, shop.account_id) is shop.carla_account
    assert access.account_for(shop.carla, shop.account_id) is shop.carla_account
    with pytest.raises(NotFound):
        access.account_for(shop.bora, shop.account_id)
    with pytest.raises(NotFound):
        access.account_for(shop.agent, 999_999)
    viewer = make_user("customer")
    db.session.add(Membership(account_id=shop.account_id, user_id=viewer.id, can_tickets=True))
    db.session.commit()
    viewer.acting_account_id = shop.account_id
    with pytest.raises(NotAllowed):
        access.account_for(viewer, shop.account_id)
    no_billing_yet = make_user("customer")  # an account that never ordered: nothing to show, not an error
    assert access.account_for(shop.agent, default_account_id(no_billing_yet)) is None
    assert access.customer_account_of(Invoice, shop.invoice.id) == shop.account_id
    assert access.customer_account_of(Invoice, 999_999) is None
