"""The device pages (B1) as their readers use them: the buyer's list and device page (status, days remaining,
Jalali dates for Persian readers, contract history, the choice form), a renewal for 2 years paid through the fake
Zarinpal that extends the contract once however often the callback comes, the plan choice with its confirmation,
and every route's access: another account's device 404, a member without the services permission 403, the console
404 for customers; staff register, edit and extend devices in the console."""
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import Membership
from helpdesk.audit.models import AuditEvent
from helpdesk.billing.models import FINAL, Invoice, Service
from helpdesk.billing.services import add_months
from helpdesk.devices import registry
from helpdesk.devices.contract_models import DeviceContract
from helpdesk.devices.models import PLAN_PAY_PER_CASE, Device
from helpdesk.extensions import db
from helpdesk.i18n import format_day
from tests.conftest import csrf_token, log_in
from tests.fakes.zarinpal_api import MERCHANT_ID, FakeZarinpal
from tests.integration.billing_shop import SETTINGS
from tests.integration.devices_shop import PRICES, build


@pytest.fixture
def fake():
    zarinpal = FakeZarinpal().start()
    yield zarinpal
    zarinpal.stop()


@pytest.fixture
def app(app_factory, fake, smtp):
    app = app_factory(**{**SETTINGS, "BILLING_GATEWAYS": ["zarinpal"], "ZARINPAL_API_BASE": fake.url,
                         "ZARINPAL_MERCHANT_ID": MERCHANT_ID, "BILLING_GATEWAY_TIMEOUT": 5,
                         "BILLING_DEFAULT_CURRENCY": "IRR"})
    with app.app_context():
        yield app
        db.session.remove()


def fresh():
    db.session.commit()
    db.session.expire_all()


def post(client, page_url, action, data):
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def test_the_buyer_renews_for_two_years_through_zarinpal_once(app, client, fake, make_user):
    shop = build(make_user, days_left=20)
    end = shop.device.service_ends_on
    log_in(client, "sara@example.test")
    page = f"/devices/{shop.device.id}"

    listing = client.get("/devices/").get_data(as_text=True)
    assert "SN-4711" in listing and "20 days left" in listing and format_day(end, "en") in listing
    shown = client.get(page).get_data(as_text=True)
    assert "Renew for 2 years" in shown and "Initial contract" in shown
    for linked in ("installation", "tickets", "transfer"):  # the other parts' pages about this device
        assert f'href="/devices/{shop.device.id}/{linked}"' in shown
    assert "A renewal order is waiting for payment" not in shown and 'href="/devices/"' in shown  # nav entry

    ordered = post(client, page, f"/devices/{shop.device.id}/renew", {"years": "2", "payment_method": "zarinpal"})
    assert ordered.status_code == 302 and "/billing/invoices/" in ordered.headers["Location"]
    fresh()
    [service] = db.session.scalars(sa.select(Service)).all()
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.order_id == service.order_id))
    assert service.identifier == f"#{shop.device.id} SN-4711" and service.cycle == "biennial"
    assert invoice.total >= PRICES["biennial"] and invoice.currency == "IRR"

    assert "A renewal order is waiting for payment" in client.get(page).get_data(as_text=True)
    invoice_page = ordered.headers["Location"]
    paying = post(client, invoice_page, f"/billing/invoices/{invoice.id}/pay/zarinpal", {})
    assert paying.status_code == 200 and fake.url in paying.headers["Refresh"]
    [authority] = fake.authorities
    fake.pay(authority)
    callback = urlsplit(fake.callback_url(authority))
    for _ in range(3):  # the customer comes back, then the same callback is replayed
        assert client.get(f"{callback.path}?{callback.query}").status_code == 302

    fresh()
    assert db.session.get(Invoice, invoice.id).status == FINAL
    device = db.session.get(Device, shop.device.id)
    assert device.service_ends_on == add_months(end, 24) and device.contract_source == "renewal"
    renewals = db.session.scalars(sa.select(DeviceContract).where(DeviceContract.source == "renewal")).all()
    assert [(c.starts_on, c.years, c.invoice_id) for c in renewals] == [(end, 2, invoice.id)]
    assert db.session.get(Service, service.id).next_due_date is None  # no automatic renewal invoice later
    assert [e.changes["years"] for e in db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity == "device", AuditEvent.action == "renewal-ordered"))] == [2]
    shown = client.get(page).get_data(as_text=True)
    assert "Renewed" in shown and "Renewal" in shown and "Renew for 2 years" not in shown


def test_a_persian_reader_sees_jalali_dates(app, client, make_user):
    shop = build(make_user, days_left=20)
    shop.sara.locale = "fa"
    db.session.commit()
    log_in(client, "sara@example.test")
    listing = client.get("/devices/").get_data(as_text=True)
    assert format_day(shop.device.service_ends_on, "fa") in listing


def test_the_buyer_switches_to_pay_per_case_only_when_confirmed(app, client, make_user):
    shop = build(make_user, days_left=5)
    log_in(client, "sara@example.test")
    page, action = f"/devices/{shop.device.id}", f"/devices/{shop.device.id}/plan"

    unconfirmed = post(client, page, action, {"plan": PLAN_PAY_PER_CASE})
    assert unconfirmed.status_code == 400 and "Tick the box to confirm." in unconfirmed.get_data(as_text=True)
    fresh()
    assert db.session.get(Device, shop.device.id).plan == "contract"

    confirmed = post(client, page, action, {"plan": PLAN_PAY_PER_CASE, "confirm": "y"})
    assert confirmed.status_code == 302
    fresh()
    assert db.session.get(Device, shop.device.id).plan == PLAN_PAY_PER_CASE


def test_every_device_route_hides_other_accounts_and_needs_the_services_permission(app, client, make_user):
    shop = build(make_user, days_left=5)
    other = build_other(make_user, shop)
    viewer = make_user("customer", email="viewer@example.test")
    db.session.add(Membership(account_id=shop.account.id, user_id=viewer.id, can_tickets=True))
    db.session.commit()
    theirs = other.id

    log_in(client, "sara@example.test")
    token = csrf_token(client.get(f"/devices/{shop.device.id}").get_data(as_text=True))
    assert client.get(f"/devices/{theirs}").status_code == 404
    assert client.post(f"/devices/{theirs}/renew", data={"csrf_token": token, "years": "1",
                                                         "payment_method": "zarinpal"}).status_code == 404
    assert client.post(f"/devices/{theirs}/plan", data={"csrf_token": token, "plan": PLAN_PAY_PER_CASE,
                                                        "confirm": "y"}).status_code == 404
    assert client.get("/devices/999999").status_code == 404
    for console in ("/agent/devices/", "/agent/devices/types", f"/agent/devices/{shop.device.id}",
                    f"/agent/devices/accounts/{shop.account.id}/new"):
        assert client.get(console).status_code == 404
    client.post("/logout", data={"csrf_token": token})

    log_in(client, "viewer@example.test")
    assert client.get(f"/devices/{shop.device.id}").status_code == 403
    fresh()
    assert db.session.get(Device, theirs).plan == "contract" and db.session.scalar(
        sa.select(sa.func.count(Service.id))) == 0


def build_other(make_user, shop):
    from helpdesk.accounts.memberships import default_account

    omid = make_user("customer", email="omid@example.test")
    return registry.register_device(shop.admin, default_account(omid).id, device_type=shop.device_type.id,
                                    serial_number="SN-9000", installed_on=shop.today - timedelta(days=400),
                                    service_ends_on=shop.today + timedelta(days=3))


def test_staff_register_edit_and_extend_devices_in_the_console(app, client, make_user):
    shop = build(make_user, days_left=20)
    log_in(client, "ada@example.test")
    assert "SN-4711" in client.get("/agent/devices/?q=4711").get_data(as_text=True)
    assert "Acme X200" in client.get("/agent/devices/types").get_data(as_text=True)
    new = f"/agent/devices/accounts/{shop.account.id}/new"

    refused = post(client, new, new, {"device_type": str(shop.device_type.id), "installed_on": "2025-01-10"})
    assert refused.status_code == 400 and "serial number, the dongle or user ID" in refused.get_data(as_text=True)
    made = post(client, new, new, {"device_type": str(shop.device_type.id), "serial_number": "SN-5000",
                                   "installed_on": "2025-01-10"})
    assert made.status_code == 302
    fresh()
    device = db.session.scalar(sa.select(Device).where(Device.serial_number == "SN-5000"))
    assert device.account_id == shop.account.id and device.service_ends_on.isoformat() == "2026-01-10"

    page = f"/agent/devices/{device.id}"
    extended = post(client, page, f"{page}/contracts", {"years": "2", "note": "goodwill"})
    assert extended.status_code == 302
    fresh()
    assert db.session.get(Device, device.id).service_ends_on == add_months(registry.today(), 24)  # had ended
    assert "Granted by staff" in client.get(page).get_data(as_text=True)
    planned = post(client, page, f"{page}/plan", {"plan": PLAN_PAY_PER_CASE})
    assert planned.status_code == 302
    fresh()
    assert db.session.get(Device, device.id).plan == PLAN_PAY_PER_CASE
    typed = post(client, f"/agent/devices/types/{shop.device_type.id}", f"/agent/devices/types/{shop.device_type.id}",
                 {"code": "acme-x200", "brand": "Acme", "model": "X200", "warranty_months": "24",
                  "service_months": "12", "contract_product_id": str(shop.product.id)})  # "active" unticked
    assert typed.status_code == 302
    fresh()
    assert (shop.device_type.warranty_months, shop.device_type.active) == (24, False)
    assert f"/agent/devices/accounts/{shop.account.id}/new" in client.get(
        f"/agent/accounts/{shop.account.id}").get_data(as_text=True)
