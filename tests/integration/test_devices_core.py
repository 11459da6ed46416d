"""Devices (B1): the derived status (boundaries, leap days), registering a device (defaults from its type, every
problem at once, audited and told to followers), the buyer's plan choices, staff contract periods, and contract
reminders sent once per threshold by email."""
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from helpdesk.accounts.identity_models import AccountIdentity
from helpdesk.audit.models import AuditEvent
from helpdesk.audit.sentences import tell
from helpdesk.billing.services import add_months
from helpdesk.db import utcnow
from helpdesk.devices import contracts, events, registry, reminders
from helpdesk.devices.contract_models import ContractReminder, DeviceContract
from helpdesk.devices.models import PLAN_CANCELLED, PLAN_CONTRACT, PLAN_PAY_PER_CASE, Device
from helpdesk.devices.status import (
    ACTIVE,
    AWAITING_CONFIRMATION,
    CANCELLED,
    EXPIRED,
    EXPIRING,
    PAY_PER_CASE,
    RENEWED,
    service_is_active,
    status_of,
)
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import format_day
from helpdesk.notify.models import OutboxEmail
from helpdesk.notify.sms_models import SmsMessage
from tests.integration.devices_shop import build

TODAY = date(2025, 3, 20)  # Esfand 30, 1403: the last day of a Jalali leap year


def device(ends_on, plan=PLAN_CONTRACT, confirmed=True, source="initial"):
    return SimpleNamespace(service_ends_on=ends_on, plan=plan, contract_source=source,
                           confirmed_at=utcnow() if confirmed else None)


@pytest.mark.parametrize(("ends_on", "plan", "confirmed", "source", "code", "days"), [
    (TODAY + timedelta(days=31), PLAN_CONTRACT, True, "initial", ACTIVE, 31),
    (TODAY + timedelta(days=30), PLAN_CONTRACT, True, "initial", EXPIRING, 30),  # the window's first day
    (TODAY + timedelta(days=1), PLAN_CONTRACT, True, "initial", EXPIRING, 1),  # the contract's last day
    (TODAY, PLAN_CONTRACT, True, "initial", EXPIRED, 0),  # the end is exclusive: no service from it on
    (TODAY - timedelta(days=5), PLAN_CONTRACT, True, "initial", EXPIRED, -5),
    (TODAY + timedelta(days=400), PLAN_CONTRACT, True, "renewal", RENEWED, 400),
    (TODAY + timedelta(days=10), PLAN_CONTRACT, True, "renewal", EXPIRING, 10),  # a renewal runs out too
    (TODAY + timedelta(days=10), PLAN_PAY_PER_CASE, True, "initial", EXPIRING, 10),  # what was paid is served
    (TODAY, PLAN_PAY_PER_CASE, True, "initial", PAY_PER_CASE, 0),
    (TODAY - timedelta(days=1), PLAN_CANCELLED, True, "initial", CANCELLED, -1),
    (TODAY + timedelta(days=200), PLAN_CONTRACT, False, "initial", AWAITING_CONFIRMATION, 200),
    (None, PLAN_CONTRACT, True, None, EXPIRED, None),
])
def test_the_status_is_derived_from_dates_plan_confirmation_and_source(ends_on, plan, confirmed, source, code,
                                                                        days):
    status = status_of(device(ends_on, plan, confirmed, source), TODAY)
    assert (status.code, status.days_remaining) == (code, days)
    assert service_is_active(status) == (code in (ACTIVE, EXPIRING, RENEWED))
    assert str(status.label)


def test_the_expiring_window_is_a_setting_and_leap_days_count(app):
    app.config["DEVICES_EXPIRING_DAYS"] = 7
    try:
        assert status_of(device(TODAY + timedelta(days=8)), TODAY).code == ACTIVE
        assert status_of(device(TODAY + timedelta(days=7)), TODAY).code == EXPIRING
    finally:
        app.config["DEVICES_EXPIRING_DAYS"] = 30
    # 2024 is a leap year: from Feb 28 to Mar 1 is two days.
    assert status_of(device(date(2024, 3, 1)), date(2024, 2, 28)).days_remaining == 2
    assert format_day(TODAY, "fa") == "۱۴۰۳/۱۲/۳۰"


def test_staff_register_a_device_with_the_types_defaults_audited_and_told(app, make_user, monkeypatch):
    shop = build(make_user)
    told = []
    monkeypatch.setattr(events, "_followers", [lambda kind, d, details: told.append((kind, d.id))])
    installed = date(2024, 2, 29)  # a leap day: a year later is Feb 28

    registered = registry.register_device(shop.admin, shop.account.id, device_type=shop.device_type.id,
                                          serial_number="", dongle_id=" DG-9 ", installed_on=installed)

    assert (registered.warranty_ends_on, registered.service_ends_on) == (date(2025, 2, 28), date(2025, 2, 28))
    assert registered.dongle_id == "DG-9" and registered.contract_source == "initial"
    [initial] = db.session.scalars(sa.select(DeviceContract).where(DeviceContract.device_id == registered.id)).all()
    assert (initial.starts_on, initial.ends_on, initial.source) == (installed, date(2025, 2, 28), "initial")
    assert ("device.registered", registered.id) in told
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.entity == "device",
                                                                AuditEvent.entity_id == registered.id)) == \
        "registered"
    assert registry.devices_of(shop.sara, shop.account.id)[-1].id == registered.id


def test_registering_lists_every_problem_and_only_staff_may(app, make_user):
    shop = build(make_user)
    with pytest.raises(ValidationFailed) as refused:
        registry.register_device(shop.admin, shop.account.id, device_type="999", serial_number="",
                                 dongle_id="", installed_on=date(2025, 1, 10),
                                 warranty_ends_on=date(2025, 1, 1))
    assert set(refused.value.errors) == {"device_type", "serial_number", "warranty_ends_on"}
    with pytest.raises(ValidationFailed) as duplicate:
        registry.register_device(shop.admin, shop.account.id, device_type=shop.device_type.id,
                                 serial_number="sn-4711")
    assert "serial_number" in duplicate.value.errors
    with pytest.raises(NotFound):
        registry.register_device(shop.sara, shop.account.id, device_type=shop.device_type.id, serial_number="X")
    assert db.session.scalar(sa.select(sa.func.count(Device.id))) == 1


def test_staff_find_devices_by_serial_and_status(app, make_user):
    shop = build(make_user)
    assert [d.id for d in registry.search_devices(shop.admin, query="4711").devices] == [shop.device.id]
    assert registry.search_devices(shop.admin, status=EXPIRING).total == 1
    assert registry.search_devices(shop.admin, status=ACTIVE).total == 0
    with pytest.raises(NotFound):
        registry.search_devices(shop.sara, query="4711")


def test_the_buyer_chooses_pay_per_case_or_cancellation_once_the_contract_is_expiring(app, make_user):
    shop = build(make_user, days_left=60)
    with pytest.raises(Conflict):  # not expiring yet
        contracts.choose_plan(shop.sara, shop.device.id, PLAN_PAY_PER_CASE)

    shop.device.service_ends_on = shop.today  # ended today
    db.session.commit()
    contracts.choose_plan(shop.sara, shop.device.id, PLAN_PAY_PER_CASE)
    assert status_of(db.session.get(Device, shop.device.id)).code == PAY_PER_CASE
    contracts.choose_plan(shop.sara, shop.device.id, PLAN_CANCELLED)
    assert status_of(db.session.get(Device, shop.device.id)).code == CANCELLED
    with pytest.raises(ValidationFailed):
        contracts.choose_plan(shop.sara, shop.device.id, "free-forever")
    actions = db.session.scalars(sa.select(AuditEvent.changes).where(AuditEvent.action == "plan-chosen")
                                 .order_by(AuditEvent.id)).all()
    assert [c["plan"] for c in actions] == [["contract", "pay_per_case"], ["pay_per_case", "cancelled"]]


def test_staff_grant_a_period_from_the_current_end_and_the_buyer_sees_it(app, make_user):
    shop = build(make_user, days_left=20)
    end = shop.device.service_ends_on

    granted = contracts.add_contract(shop.admin, shop.device.id, years=1, note="goodwill")

    assert (granted.starts_on, granted.ends_on, granted.source) == (end, add_months(end, 12), "granted")
    assert db.session.get(Device, shop.device.id).service_ends_on == granted.ends_on
    assert [c.source for c in contracts.contracts_of(shop.sara, shop.device.id)] == ["granted", "initial"]
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "device")
                              .order_by(AuditEvent.id)).all()
    told = [str(sentence) for entry in tell(rows) for sentence in entry.sentences]
    assert told[0] == "Registered the device Acme X200 (SN-4711)."
    assert told[-1].startswith("Added a service contract period to Acme X200 (SN-4711)") and "Granted by staff" in \
        told[-1]
    with pytest.raises(ValidationFailed):
        contracts.add_contract(shop.admin, shop.device.id, years=0)
    with pytest.raises(NotFound):
        contracts.add_contract(shop.sara, shop.device.id, years=1)


def test_a_member_without_the_services_permission_and_a_stranger_see_nothing(app, make_user):
    shop = build(make_user)
    stranger = make_user("customer", email="stranger@example.test")
    viewer = make_user("customer", email="viewer@example.test")
    from helpdesk.accounts.models import Membership

    db.session.add(Membership(account_id=shop.account.id, user_id=viewer.id, can_tickets=True))
    db.session.commit()
    with pytest.raises(NotFound):
        registry.get_device(stranger, shop.device.id)
    with pytest.raises(NotFound):
        registry.devices_of(stranger, shop.account.id)
    with pytest.raises(NotAllowed):
        registry.get_device(viewer, shop.device.id)
    with pytest.raises(NotAllowed):
        contracts.choose_plan(viewer, shop.device.id, PLAN_PAY_PER_CASE)


def test_reminders_go_out_once_per_threshold_by_email(app, make_user):
    shop = build(make_user, days_left=30)
    ends = shop.device.service_ends_on

    def mails():
        db.session.commit()
        return db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)).all()

    before = len(mails())
    assert reminders.send_reminders(ends - timedelta(days=30)) == 1
    assert reminders.send_reminders(ends - timedelta(days=30)) == 0  # the same day again
    assert reminders.send_reminders(ends - timedelta(days=29)) == 0  # 30 was sent; 7 is not due yet
    assert reminders.send_reminders(ends - timedelta(days=7)) == 1
    assert reminders.send_reminders(ends - timedelta(days=3)) == 0
    assert reminders.send_reminders(ends) == 1
    sent = mails()[before:]
    assert [m.recipient for m in sent] == ["sara@example.test"] * 3
    assert sorted(db.session.scalars(sa.select(ContractReminder.days_before))) == [0, 7, 30]


def test_the_reminders_run_daily_from_the_scheduler(app, make_user):
    from helpdesk import scheduler

    [job] = [job for job in scheduler.registered_jobs(app.config) if job.name == "devices.contract_reminders"]
    assert job.task == reminders.TASK and job.daily_at is not None
    shop = build(make_user, days_left=7)
    assert reminders.run_day_task(shop.today.isoformat()) == 1 and reminders.run_day_task() == 0


def test_a_reminder_is_written_in_the_recipients_language_by_email_and_sms(app, make_user):
    shop = build(make_user, days_left=7)
    shop.sara.locale = "fa"
    db.session.add(AccountIdentity(account_id=shop.account.id, full_name="Sara", phone="+989121234567"))
    db.session.commit()
    reminders.send_reminders(shop.today)
    db.session.commit()
    [text] = db.session.scalars(sa.select(SmsMessage).where(SmsMessage.kind == "devices.contract_expiring")).all()
    assert text.phone == "+989121234567" and format_day(shop.device.service_ends_on, "fa") in text.text
    assert f"/devices/{shop.device.id}" in text.text
    row = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id.desc())).first()
    from helpdesk.devices.mail_notices import render_expiring

    render_expiring(row)
    assert format_day(shop.device.service_ends_on, "fa") in row.body_text
    assert f"/devices/{shop.device.id}" in row.body_text and "X200" in row.subject


def test_a_contract_product_bought_outside_the_device_page_must_name_a_device_of_the_account(app, make_user):
    from helpdesk.billing import customers, orders
    from helpdesk.billing.catalogue_models import YEARLY
    from helpdesk.billing.models import Order
    from helpdesk.billing.pricing import CartItem

    shop = build(make_user)
    stranger = make_user("customer", email="stranger@example.test")
    stranger_device = registry.register_device(shop.admin, registry_account(stranger), device_type=shop.device_type.id,
                                               serial_number="SN-9999", installed_on=shop.today)
    with app.test_request_context():
        account = customers.ensure_account(shop.sara)
        for identifier in ("", "SN-4711", contracts.order_identifier(stranger_device)):
            with pytest.raises(ValidationFailed) as refused:
                orders.place_order(shop.sara, account, [CartItem(shop.product.id, YEARLY, identifier=identifier)],
                                   payment_method="credit", currency="IRR")
            assert "device" in str(refused.value.errors["items"])
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0

        placed = orders.place_order(shop.sara, account, [CartItem(shop.product.id, YEARLY,
                                                                  identifier=contracts.order_identifier(shop.device))],
                                    payment_method="credit", currency="IRR")
        assert placed.invoice.total == 50_000_000


def registry_account(user):
    from helpdesk.accounts.memberships import default_account

    return default_account(user).id
