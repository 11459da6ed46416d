"""Plan changes and holds as people use them: a customer opens "Change plan" on her service, sees each plan with
what it costs today, checks the lines and confirms; an upgrade leads to its invoice and the plan changes once it is
paid, a downgrade puts the difference on her balance; a form sent twice changes once; figures that moved are not
confirmed unseen. In the console billing staff change a customer's plan, and place and lift manual holds (the
service is suspended and resumed), while an overdue hold shows its invoice and cannot be lifted by hand."""
import re

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.billing import catalogue, payments, suspensions
from helpdesk.billing.models import SERVICE_ACTIVE, SERVICE_SUSPENDED, Invoice, Service
from helpdesk.billing.plan_change_models import PlanChange
from helpdesk.billing.renewal_models import ServiceHold
from helpdesk.db import utcnow
from helpdesk.extensions import db
from tests.conftest import csrf_token
from tests.integration.billing_shop import billing_app, order
from tests.integration.billing_web import fresh, latest, login, post, settled, text_of, web_shop


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def world(app):
    """Carla's active Small plan, with a Big plan beside it in the hosting group."""
    shop = web_shop()
    shop.small = catalogue.create_product(shop.admin, group=shop.web.group, code="small",
                                          texts={"en": {"name": "Small plan"}})
    shop.big = catalogue.create_product(shop.admin, group=shop.web.group, code="big",
                                        texts={"en": {"name": "Big plan"}})
    catalogue.set_price(shop.admin, shop.small, cycle="monthly", currency="EUR", amount=1000)
    catalogue.set_price(shop.admin, shop.big, cycle="monthly", currency="EUR", amount=2500)
    shop.service = _paid_service(shop, shop.small)
    db.session.commit()
    return shop


def _paid_service(shop, product):
    placed, invoice = order(shop.carla, shop.carla_account, product)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id=f"order-{placed.id}")
    return placed.services[0]


def _confirm_form(page):
    """The confirming form's fields as the page rendered them."""
    return {"csrf_token": csrf_token(page), "key": re.search(r'name="key"[^>]*value="([^"]+)"', page).group(1),
            "expect": re.search(r'name="expect" value="(-?\d+)"', page).group(1)}


def test_a_customer_upgrades_from_her_service_page_and_gets_the_plan_once_paid(client, world):
    login(client, world.carla)
    service_page = client.get(f"/billing/services/{world.service.id}").text
    assert f"/billing/services/{world.service.id}/plan" in service_page and "Change plan" in service_page

    options = text_of(client.get(f"/billing/services/{world.service.id}/plan").text)
    assert "Big plan" in options and "to pay" in options

    page = client.get(f"/billing/services/{world.service.id}/plan/{world.big.id}").text
    assert "Unused days of Small plan" in text_of(page) and "Change of plan to Big plan" in text_of(page)
    response = client.post(f"/billing/services/{world.service.id}/plan/{world.big.id}", data=_confirm_form(page))

    change = latest(PlanChange)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/billing/invoices/"
                                                                                 f"{change.invoice_id}")
    invoice = client.get(response.headers["Location"])
    assert "The new plan starts as soon as this invoice is paid." in invoice.text
    waiting = text_of(client.get(f"/billing/services/{world.service.id}").text)
    assert f"The change to Big plan starts as soon as invoice {change.invoice.reference} is paid." in waiting
    assert fresh(Service, world.service.id).product_id == world.small.id

    payments.record_payment(SYSTEM, invoice=change.invoice_id, amount=change.difference, currency="EUR",
                            source="manual", external_id="upgrade")
    assert "Big plan" in text_of(client.get(f"/billing/services/{world.service.id}").text)
    assert fresh(Service, world.service.id).product_id == world.big.id


def test_a_downgrade_goes_to_her_balance_and_the_same_form_twice_changes_once(client, world):
    service = _paid_service(world, world.big)
    db.session.commit()
    login(client, world.carla)
    page = client.get(f"/billing/services/{service.id}/plan/{world.small.id}").text
    assert "goes to the credit balance" in text_of(page)
    form = _confirm_form(page)

    first = client.post(f"/billing/services/{service.id}/plan/{world.small.id}", data=form)
    again = client.post(f"/billing/services/{service.id}/plan/{world.small.id}", data=form)

    assert first.status_code == again.status_code == 302
    assert first.headers["Location"].endswith(f"/billing/services/{service.id}")
    settled()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 1
    balance = text_of(client.get("/billing/balance").text)
    assert "Change of plan" in balance
    assert fresh(Service, service.id).product_id == world.small.id


def test_figures_that_moved_since_the_page_are_not_confirmed(client, world):
    login(client, world.carla)
    page = client.get(f"/billing/services/{world.service.id}/plan/{world.big.id}").text
    form = {**_confirm_form(page), "expect": "1"}
    response = client.post(f"/billing/services/{world.service.id}/plan/{world.big.id}", data=form,
                           follow_redirects=True)
    assert "The amounts changed since you saw them" in response.text
    settled()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 0


def test_a_plan_withdrawn_while_the_page_was_open_is_refused_in_words(client, world):
    login(client, world.carla)
    page = client.get(f"/billing/services/{world.service.id}/plan/{world.big.id}").text
    settled()
    for price in list(world.big.prices):  # billing staff stop selling the big plan meanwhile
        catalogue.remove_price(SYSTEM, world.big, cycle=price.cycle, currency=price.currency)
    response = client.post(f"/billing/services/{world.service.id}/plan/{world.big.id}",
                           data=_confirm_form(page), follow_redirects=True)
    assert response.status_code == 200
    assert "This plan is not sold on the service" in response.text
    settled()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 0


def test_billing_staff_change_a_customers_plan_in_the_console(client, world):
    login(client, world.bilge)
    service_page = text_of(client.get(f"/agent/billing/services/{world.service.id}").text)
    assert "Big plan" in service_page and "Change plan" in service_page
    page = client.get(f"/agent/billing/services/{world.service.id}/plan/{world.big.id}").text
    response = client.post(f"/agent/billing/services/{world.service.id}/plan/{world.big.id}",
                           data=_confirm_form(page))
    change = latest(PlanChange)
    assert response.headers["Location"].endswith(f"/agent/billing/invoices/{change.invoice_id}")
    assert change.requested_by_id == world.bilge.id
    history = text_of(client.get(f"/agent/billing/services/{world.service.id}").text)
    assert "Waiting for payment" in history


def test_staff_hold_a_service_with_a_reason_and_lift_the_hold(client, world):
    login(client, world.admin)
    empty = post(client, f"/agent/billing/services/{world.service.id}/holds", {"reason": " "},
                 page=f"/agent/billing/services/{world.service.id}")
    assert empty.status_code == 400 and "Say why the service is held." in empty.text

    post(client, f"/agent/billing/services/{world.service.id}/holds", {"reason": "Awaiting ID verification"},
         page=f"/agent/billing/services/{world.service.id}")
    assert fresh(Service, world.service.id).status == SERVICE_SUSPENDED
    page = text_of(client.get(f"/agent/billing/services/{world.service.id}").text)
    assert "Held by staff : Awaiting ID verification placed by Ada" in page

    hold = latest(ServiceHold)
    post(client, f"/agent/billing/services/{world.service.id}/holds/{hold.id}/lift",
         page=f"/agent/billing/services/{world.service.id}")
    assert fresh(Service, world.service.id).status == SERVICE_ACTIVE
    assert "Lifted holds" in client.get(f"/agent/billing/services/{world.service.id}").text


def test_an_overdue_hold_shows_its_invoice_and_is_not_lifted_by_hand(client, world):
    _order, unpaid = order(world.carla, world.carla_account, world.web)
    settled()
    service = db.session.get(Service, world.service.id)
    suspensions.place_overdue_hold(SYSTEM, service, db.session.get(Invoice, unpaid.id), utcnow())
    db.session.commit()
    hold = latest(ServiceHold)
    login(client, world.admin)

    page = client.get(f"/agent/billing/services/{world.service.id}").text
    assert "Suspended for non-payment" in page and unpaid.reference in page
    assert f"/holds/{hold.id}/lift" not in page
    response = post(client, f"/agent/billing/services/{world.service.id}/holds/{hold.id}/lift",
                    page=f"/agent/billing/services/{world.service.id}", follow_redirects=True)
    assert "An overdue hold is lifted when its invoice is paid." in response.text
    assert fresh(ServiceHold, hold.id).lifted_at is None
    assert fresh(Service, world.service.id).status == SERVICE_SUSPENDED
