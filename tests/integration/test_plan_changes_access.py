"""Who reaches plan changes and service holds, through the test client on both databases: a customer gets 404 for
another customer's "Change plan" pages and cannot change that service's plan; customers never reach the console's
service page; plain agents read it but are refused (403) every plan change and hold, and nothing changes; every
form needs its CSRF token; guests are asked to log in."""
import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.billing import catalogue, payments, suspensions
from helpdesk.billing.models import CreditEntry, Invoice, Service
from helpdesk.billing.plan_change_models import PlanChange
from helpdesk.billing.renewal_models import ServiceHold
from helpdesk.extensions import db
from tests.integration.billing_shop import billing_app, order
from tests.integration.billing_web import login, post, web_shop


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def world(app):
    """Carla's active Small plan (a Big plan beside it in the group) with a manual hold lifted and one open."""
    shop = web_shop()
    shop.small = catalogue.create_product(shop.admin, group=shop.web.group, code="small",
                                          texts={"en": {"name": "Small plan"}})
    shop.big = catalogue.create_product(shop.admin, group=shop.web.group, code="big",
                                        texts={"en": {"name": "Big plan"}})
    catalogue.set_price(shop.admin, shop.small, cycle="monthly", currency="EUR", amount=1000)
    catalogue.set_price(shop.admin, shop.big, cycle="monthly", currency="EUR", amount=2500)
    placed, invoice = order(shop.carla, shop.carla_account, shop.small)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="carla-small")
    shop.service = placed.services[0]
    shop.hold = suspensions.place_manual_hold(shop.admin, shop.service, "Awaiting ID verification")
    shop.ids = {"service": shop.service.id, "big": shop.big.id, "small": shop.small.id, "hold": shop.hold.id}
    db.session.commit()
    return shop


def _state():
    """Everything a plan change or a hold could change."""
    db.session.rollback()

    def count(model):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    services = tuple(db.session.execute(sa.select(Service.id, Service.product_id, Service.status,
                                                  Service.recurring_amount).order_by(Service.id)))
    holds = tuple(db.session.execute(sa.select(ServiceHold.id, ServiceHold.lifted_at).order_by(ServiceHold.id)))
    return count(PlanChange), count(Invoice), count(CreditEntry), services, holds


PORTAL_PAGES = ["/billing/services/{service}/plan", "/billing/services/{service}/plan/{big}"]
CONFIRM = "/billing/services/{service}/plan/{big}"
CONSOLE_ACTIONS = [("/agent/billing/services/{service}/plan/{big}", {"key": "k" * 20, "expect": "0"}),
                   ("/agent/billing/services/{service}/holds", {"reason": "Abuse"}),
                   ("/agent/billing/services/{service}/holds/{hold}/lift", {})]


def test_the_owner_reaches_her_change_plan_pages(client, world):
    suspensions.lift_manual_hold(world.admin, world.hold)  # a held (suspended) service cannot change plan
    login(client, world.carla)
    for page in PORTAL_PAGES:
        response = client.get(page.format(**world.ids))
        assert response.status_code == 200, page
        assert "Big plan" in response.text


@pytest.mark.parametrize("page", PORTAL_PAGES)
def test_another_customer_gets_404_for_her_change_plan_pages(client, world, page):
    login(client, world.bora)
    response = client.get(page.format(**world.ids))
    assert response.status_code == 404
    assert "Small plan" not in response.text and "Carla" not in response.text


def test_another_customer_cannot_change_her_plan(client, world):
    suspensions.lift_manual_hold(world.admin, world.hold)
    login(client, world.bora)
    before = _state()
    response = post(client, CONFIRM.format(**world.ids), {"key": "k" * 20, "expect": "1"},
                    page="/billing/services")
    assert response.status_code == 404
    assert _state() == before


def test_customers_never_reach_the_console_service_page(client, world):
    login(client, world.carla)
    before = _state()
    assert client.get("/agent/billing/services/{service}".format(**world.ids)).status_code == 404
    for path, data in CONSOLE_ACTIONS:
        response = post(client, path.format(**world.ids), data, page="/billing/services")
        assert response.status_code == 404, path
    assert _state() == before


def test_a_plain_agent_reads_the_service_but_changes_nothing(client, world):
    login(client, world.agent)
    page = client.get("/agent/billing/services/{service}".format(**world.ids))
    assert page.status_code == 200 and "Awaiting ID verification" in page.text
    assert "Lift this hold" not in page.text and "Hold the service" not in page.text
    before = _state()
    for path, data in CONSOLE_ACTIONS:
        response = post(client, path.format(**world.ids), data, page="/agent/billing/customers")
        assert response.status_code == 403, path
    assert client.get("/agent/billing/services/{service}/plan/{big}".format(**world.ids)).status_code == 403
    assert _state() == before


@pytest.mark.parametrize("who, actions", [
    ("carla", [(CONFIRM, {"key": "k" * 20, "expect": "0"})]), ("admin", CONSOLE_ACTIONS)])
def test_every_plan_and_hold_form_needs_its_csrf_token(client, world, who, actions):
    suspensions.lift_manual_hold(world.admin, world.hold)
    world.hold = suspensions.place_manual_hold(world.admin, world.service, "Abuse report")
    world.ids["hold"] = world.hold.id
    db.session.commit()
    login(client, getattr(world, who))
    before = _state()
    for path, data in actions:
        response = client.post(path.format(**world.ids), data=data)
        assert response.status_code == 400, path
    assert _state() == before


def test_guests_are_asked_to_log_in(client, world):
    for page in [*PORTAL_PAGES, "/agent/billing/services/{service}"]:
        response = client.get(page.format(**world.ids))
        assert response.status_code == 302 and "/login" in response.headers["Location"], page
