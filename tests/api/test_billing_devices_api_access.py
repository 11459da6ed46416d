"""Who reaches billing and devices through the API, for every operation tagged "billing" or "devices" in the
document (the table must name each): customer A's token against customer B's account, order, invoice, payment,
service and device is 404 (nothing of B's is revealed); a token without the operation's scope is 403; a member of
the account without the billing (or services) permission is 403, as in the portal. Nothing a refused request
asked for happens."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import Membership
from helpdesk.actors import SYSTEM
from helpdesk.billing import payments
from helpdesk.billing.models import Payment
from helpdesk.devices import catalogue as device_catalogue
from helpdesk.devices import registry
from helpdesk.extensions import db
from tests.api.conftest import problem_of
from tests.api.test_billing_api import with_logins
from tests.integration.billing_shop import billing_app, build_shop, order

pytestmark = pytest.mark.backends("sqlite")

TAGS = {"billing", "devices"}


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


def _holdings(shop, customer, account):
    placed, invoice = order(customer, account, shop.web)
    payment = payments.record_payment(SYSTEM, invoice=invoice, amount=100, currency=invoice.currency,
                                      source="manual", external_id=f"part-{invoice.id}")
    device = registry.register_device(shop.admin, account.customer_account_id, device_type=shop.device_type.id,
                                      serial_number=f"SN-{account.id}")
    return {"account": account.customer_account_id, "order": placed.id, "invoice": invoice.id,
            "payment": payment.id, "service": placed.services[0].id, "device": device.id,
            "currency": invoice.currency}


@pytest.fixture
def shop(app, make_user):
    shop = build_shop()
    shop.device_type = device_catalogue.create_device_type(shop.admin, code="acme-x200", brand="Acme", model="X200",
                                                          warranty_months=12, service_months=12)
    shop.a = _holdings(shop, shop.carla, shop.carla_account)
    shop.b = _holdings(shop, shop.bora, shop.bora_account)
    shop.viewer = make_user("customer")  # a member of Carla's account for tickets only
    db.session.add(Membership(account_id=shop.a["account"], user_id=shop.viewer.id, can_tickets=True))
    with_logins(shop.admin, shop.carla, shop.bora)
    return shop


# (method, path) -> (scope, request(o): (url, json)) where ``o`` names one customer's holdings.
TABLE = {
    ("GET", "/api/v1/accounts/{account_id}/orders"):
        ("billing:read", lambda o: (f"/api/v1/accounts/{o['account']}/orders", None)),
    ("GET", "/api/v1/accounts/{account_id}/invoices"):
        ("billing:read", lambda o: (f"/api/v1/accounts/{o['account']}/invoices", None)),
    ("GET", "/api/v1/accounts/{account_id}/payments"):
        ("billing:read", lambda o: (f"/api/v1/accounts/{o['account']}/payments", None)),
    ("GET", "/api/v1/accounts/{account_id}/services"):
        ("billing:read", lambda o: (f"/api/v1/accounts/{o['account']}/services", None)),
    ("GET", "/api/v1/orders/{order_id}"): ("billing:read", lambda o: (f"/api/v1/orders/{o['order']}", None)),
    ("GET", "/api/v1/invoices/{invoice_id}"):
        ("billing:read", lambda o: (f"/api/v1/invoices/{o['invoice']}", None)),
    ("GET", "/api/v1/invoices/{invoice_id}/pdf"):
        ("billing:read", lambda o: (f"/api/v1/invoices/{o['invoice']}/pdf", None)),
    ("GET", "/api/v1/services/{service_id}"):
        ("billing:read", lambda o: (f"/api/v1/services/{o['service']}", None)),
    ("POST", "/api/v1/payments"):
        ("billing:write", lambda o: ("/api/v1/payments", {"invoice_id": o["invoice"], "bank_reference": "STMT-X",
                                                          "amount": {"amount": 100, "currency": o["currency"]}})),
    ("GET", "/api/v1/accounts/{account_id}/devices"):
        ("devices:read", lambda o: (f"/api/v1/accounts/{o['account']}/devices", None)),
    ("GET", "/api/v1/devices/{device_id}"): ("devices:read", lambda o: (f"/api/v1/devices/{o['device']}", None)),
    ("PATCH", "/api/v1/devices/{device_id}"):
        ("devices:write", lambda o: (f"/api/v1/devices/{o['device']}", {"serial_number": "TAKEN"})),
}


def _send(client, method, request, holdings):
    url, body = request(holdings)
    return client.open(url, method=method, json=body)


def _nothing_happened(shop):
    db.session.rollback()  # a new transaction sees what the requests committed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 2  # the fixture's own
    assert registry.get_device(shop.admin, shop.a["device"]).serial_number.startswith("SN-")
    assert registry.get_device(shop.admin, shop.b["device"]).serial_number.startswith("SN-")


def test_the_table_names_every_billing_and_devices_operation(api_client):
    document = api_client.get("/api/v1/openapi.json").get_json()
    operations = {(method.upper(), path) for path, item in document["paths"].items()
                  for method, operation in item.items()
                  if isinstance(operation, dict) and TAGS & set(operation.get("tags", ()))}
    assert operations == set(TABLE), f"missing: {operations - set(TABLE)}, gone: {set(TABLE) - operations}"


@pytest.mark.parametrize("operation", sorted(TABLE))
def test_customer_a_gets_404_for_customer_bs_things(as_user, shop, operation):
    method, _path = operation
    client = as_user(shop.carla)  # every scope
    answer = _send(client, method, TABLE[operation][1], shop.b)
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert problem_of(answer)["status"] == 404
    _nothing_happened(shop)


@pytest.mark.parametrize("operation", sorted(TABLE))
def test_a_token_without_the_scope_gets_403(as_user, shop, operation):
    method, _path = operation
    scope = TABLE[operation][0]
    others = [s for s in ("tickets:read", "billing:read", "devices:read", "billing:write", "devices:write")
              if s != scope]
    for person, holdings in ((shop.carla, shop.a), (shop.admin, shop.b)):
        answer = _send(as_user(person, others), method, TABLE[operation][1], holdings)
        assert answer.status_code == 403, (person, answer.get_data(as_text=True))
        assert problem_of(answer)["type"].endswith("insufficient-scope")
    _nothing_happened(shop)


@pytest.mark.parametrize("operation", sorted(TABLE))
def test_a_member_without_the_permission_gets_403(as_user, shop, operation):
    """The viewer belongs to Carla's account for tickets only: billing needs the billing permission (services and
    devices the services permission), as in the portal."""
    method, _path = operation
    answer = _send(as_user(shop.viewer), method, TABLE[operation][1], shop.a)
    assert answer.status_code == 403, answer.get_data(as_text=True)
    _nothing_happened(shop)


def test_the_owner_reaches_every_read(as_user, shop):
    """The same table for Carla's own things: the refusals above are about whose they are, not broken URLs."""
    client = as_user(shop.carla)
    for (method, _path), (_scope, request) in TABLE.items():
        if method == "GET":
            assert _send(client, method, request, shop.a).status_code == 200, request(shop.a)
