"""Who reaches the domain pages, through the test client (on PostgreSQL): another account's request and service
ids answer 404 and show nothing of them, a member of the account without the services permission gets 403 on the
domain requests, a member with it works for the account, guests are sent to log in, customers never reach the
console's queue (404), plain agents read it but cannot decide (403), every form needs its CSRF token, and in none
of these cases does anything change."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import Membership
from helpdesk.audit.models import AuditEvent
from helpdesk.billing.catalogue_models import DomainPrice, Product
from helpdesk.billing.pricing import CartItem
from helpdesk.domains import domain_requests
from helpdesk.domains.models import DomainRequest
from helpdesk.extensions import db
from tests.integration.billing_web import PASSWORD, login, person, post, web_shop
from tests.integration.domain_shop import Fakes, add_domains, domain_app, paid_order

pytestmark = pytest.mark.backends("postgresql")

REGISTRANT = {"name": "Carla Kunde", "email": "carla@example.test", "country": "DE", "address": "Berlin"}
SECRET_NAME = "carlas-secret-shop.hu"


@pytest.fixture
def fakes():
    with Fakes() as running:
        yield running


@pytest.fixture
def app(app_factory, fakes):
    yield from domain_app(app_factory, fakes)


def _member(email, account_id, **permissions):
    from helpdesk.accounts.service import hash_password

    user = person("customer", email)
    user.password_hash = hash_password(PASSWORD)
    db.session.add(Membership(account_id=account_id, user=user, can_tickets=True, **permissions))
    db.session.commit()
    return user


@pytest.fixture
def world(app):
    """Carla's account with an active Start package (a free domain) and a request for SECRET_NAME filed on it, a
    second active package not yet requested; Mia a member without the services permission, Sam one with it."""
    shop = add_domains(web_shop())
    first = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    second = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    shop.filed = domain_requests.file_request(
        shop.carla, shop.carla_id, service_id=first.services[0].id, name=SECRET_NAME, action="register",
        registrant=REGISTRANT, nameservers=["ns1.example.com", "ns2.example.com"])
    shop.free_service = second.services[0]
    shop.mia = _member("mia@example.test", shop.carla_id, can_services=False)
    shop.sam = _member("sam@example.test", shop.carla_id, can_services=True)
    db.session.commit()
    return shop


def act_for(client, account_id):
    """Switch the portal to ``account_id`` with the header's account switcher."""
    response = post(client, "/account/switch", {"account_id": str(account_id)}, page="/")
    assert response.status_code in (302, 303)


def state():
    db.session.rollback()
    return (tuple(db.session.execute(sa.select(DomainRequest.id, DomainRequest.status, DomainRequest.reason))),
            tuple(db.session.execute(sa.select(DomainPrice.id, DomainPrice.registration, DomainPrice.transfer))),
            tuple(db.session.execute(sa.select(Product.id, Product.free_domain).order_by(Product.id))),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))


def request_paths(world):
    return [f"/domains/requests/{world.filed.id}", f"/domains/requests/new/{world.free_service.id}"]


def test_another_accounts_ids_answer_404_and_leak_nothing(client, world):
    login(client, world.bora)
    before = state()
    for path in request_paths(world):
        response = client.get(path)
        assert response.status_code == 404, path
        assert SECRET_NAME not in response.text
    page = client.get("/domains/requests")
    assert page.status_code == 200 and SECRET_NAME not in page.text
    form = {"service": str(world.free_service.id), "name": "stolen.hu", "action": "register",
            "registrant_name": "Bora", "registrant_email": "bora@example.test", "registrant_country": "TR",
            "nameserver_1": "ns1.example.com", "nameserver_2": "ns2.example.com"}
    response = post(client, f"/domains/requests/new/{world.free_service.id}", form, page="/domains/requests")
    assert response.status_code == 404
    assert state() == before


def test_a_member_without_the_services_permission_gets_403(client, world):
    login(client, world.mia)
    act_for(client, world.carla_id)
    before = state()
    for path in [*request_paths(world), "/domains/requests"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert SECRET_NAME not in response.text
    assert state() == before


def test_a_member_with_the_services_permission_acts_for_the_account(client, world):
    login(client, world.sam)
    act_for(client, world.carla_id)
    page = client.get("/domains/requests")
    assert page.status_code == 200 and SECRET_NAME in page.text
    assert client.get(f"/domains/requests/{world.filed.id}").status_code == 200


def test_guests_are_sent_to_log_in(client, world):
    before = state()
    for path in [*request_paths(world), "/domains/requests", "/agent/domains/", f"/agent/domains/{world.filed.id}",
                 "/agent/domains/prices"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for path in ("/domains/order", f"/agent/domains/{world.filed.id}/done",
                 f"/agent/domains/{world.filed.id}/reject", f"/agent/domains/{world.filed.id}/send",
                 "/agent/domains/prices", f"/agent/domains/prices/packages/{world.start.id}"):
        response = client.post(path, data={"csrf_token": "x", "reason": "no"})
        assert response.status_code in (302, 400), path
        assert SECRET_NAME not in response.text
    assert state() == before


def test_customers_never_reach_the_console_queue(client, world):
    login(client, world.carla)
    before = state()
    for path in ("/agent/domains/", f"/agent/domains/{world.filed.id}", "/agent/domains/prices"):
        assert client.get(path).status_code == 404
    for action in ("done", "reject", "send"):
        response = post(client, f"/agent/domains/{world.filed.id}/{action}", {"reason": "no"},
                        page="/domains/requests")
        assert response.status_code == 404
    assert post(client, "/agent/domains/prices", {"product": str(world.names.id), "tld": "org", "currency": "EUR",
                                                  "registration": "0", "transfer": "0"},
                page="/domains/requests").status_code == 404
    assert state() == before


def test_staff_never_reach_the_portals_request_pages(client, world):
    login(client, world.admin)
    for path in [*request_paths(world), "/domains/requests"]:
        assert client.get(path).status_code == 404


def test_plain_agents_read_the_queue_but_cannot_decide(client, world):
    login(client, world.agent)
    assert SECRET_NAME in client.get("/agent/domains/").text
    page = client.get(f"/agent/domains/{world.filed.id}")
    assert page.status_code == 200 and "Mark done" not in page.text
    before = state()
    for action in ("done", "reject", "send"):
        response = post(client, f"/agent/domains/{world.filed.id}/{action}", {"reason": "no"},
                        page="/agent/domains/")
        assert response.status_code == 403, action
    prices = client.get("/agent/domains/prices")
    assert prices.status_code == 200 and "Set the prices" not in prices.text
    assert post(client, "/agent/domains/prices", {"product": str(world.names.id), "tld": "org", "currency": "EUR",
                                                  "registration": "0", "transfer": "0"},
                page="/agent/domains/").status_code == 403
    assert post(client, f"/agent/domains/prices/packages/{world.start.id}", {},
                page="/agent/domains/").status_code == 403
    assert state() == before


def test_every_form_needs_its_csrf_token(client, world):
    login(client, world.admin)
    before = state()
    for action in ("done", "reject", "send"):
        response = client.post(f"/agent/domains/{world.filed.id}/{action}", data={"reason": "no"})
        assert response.status_code == 400, action
    for path in ("/agent/domains/prices", f"/agent/domains/prices/packages/{world.start.id}"):
        response = client.post(path, data={"product": str(world.names.id), "tld": "org", "currency": "EUR",
                                           "registration": "0", "transfer": "0"})
        assert response.status_code == 400, path
    login(client, world.carla)
    response = client.post(f"/domains/requests/new/{world.free_service.id}", data={"name": "x.hu"})
    assert response.status_code == 400
    assert client.post("/domains/check", data={"name": "sparrow"}).status_code == 400
    assert state() == before
