"""Issue 19 end to end in Chromium, in Persian: a Persian-speaking agent creates a device buyer's account and
registers two devices to it; the buyer chooses a password through the mailed link, logs in with her username and
sees her devices with Jalali dates in Persian digits and the days remaining; signs device 1's installation
confirmation (a Jalali date typed in) and finds it read-only (a forged second post is refused); opens a ticket about
device 1 and finds it in the device's ticket panel; renews device 1 for 2 years through (a fake of) Zarinpal;
switches the expired device 2 to pay-per-case, staff charge two cases until the debt crosses the ceiling, the portal
warns her and (a fake of) Kavenegar receives one SMS for it; she transfers device 2 to a new owner, who confirms
with the texted code; staff approve, and the device is in the new owner's account, no longer in hers."""
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from helpdesk.accounts import buyers
from helpdesk.accounts.identity_models import account_for_national_id
from helpdesk.actors import SYSTEM
from helpdesk.billing import catalogue
from helpdesk.billing.catalogue_models import BIENNIAL, DEVICE_CONTRACT, TRIENNIAL, YEARLY
from helpdesk.billing.models import FINAL, Invoice
from helpdesk.billing.services import add_months
from helpdesk.devices import cases, registry
from helpdesk.devices import catalogue as device_catalogue
from helpdesk.devices.case_models import DeviceCase
from helpdesk.devices.installation_models import InstallationConfirmation
from helpdesk.devices.models import Device
from helpdesk.extensions import db
from helpdesk.i18n import format_day
from helpdesk.notify import sms_tasks
from helpdesk.notify.sms_models import SmsMessage
from helpdesk.tickets import departments
from helpdesk.tickets.models import Ticket
from tests.browser.conftest import PASSWORD, SCREENSHOTS, log_in
from tests.fakes.kavenegar_api import API_KEY, FakeKavenegar
from tests.fakes.zarinpal_api import MERCHANT_ID, FakeZarinpal
from tests.integration.billing_shop import SETTINGS

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
CEILING = 2_000_000  # rials: 200,000 Toman
CASE_PRICE = 1_500_000  # one case (simple, small): the second one crosses the ceiling
BUYER_PHONE, BUYER_PHONE_KAVENEGAR = "+989121234567", "09121234567"
NEW_OWNER_PHONE, NEW_OWNER_KAVENEGAR = "+989127654321", "09127654321"
BASE = "http://helpdesk.example.test"


def national_id(nine: str) -> str:
    """Nine digits and their check digit: an Iranian national ID."""
    remainder = sum(int(nine[i]) * (10 - i) for i in range(9)) % 11
    return nine + str(remainder if remainder < 2 else 11 - remainder)


BUYER_ID, NEW_OWNER_ID = national_id("123456700"), national_id("001234567")


@pytest.fixture
def zarinpal():
    fake = FakeZarinpal().start()
    yield fake
    fake.stop()


@pytest.fixture
def kavenegar():
    fake = FakeKavenegar().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(app_factory, smtp, zarinpal, kavenegar):
    settings = {key: value for key, value in SETTINGS.items() if key != "SMTP_HOST"}  # the set-password mail
    settings.update(BILLING_GATEWAYS=["zarinpal"], ZARINPAL_API_BASE=zarinpal.url, ZARINPAL_MERCHANT_ID=MERCHANT_ID,
                    BILLING_GATEWAY_TIMEOUT=5, BILLING_DEFAULT_CURRENCY="IRR", SMS_PROVIDER="kavenegar",
                    KAVENEGAR_API_KEY=API_KEY, KAVENEGAR_API_BASE=kavenegar.url,
                    DEVICES_DEBT_CEILING={"IRR": CEILING}, DEVICES_CASE_CURRENCY="IRR")
    app = app_factory(**settings)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def seller(app, make_user, department):
    """The seller's side before the buyer comes: a Persian-speaking admin (in the support department), the X200
    device type whose renewals are priced in rials, the case price list, and the account of the person the buyer
    will transfer a device to (staff create it first, with that person's national ID)."""
    admin = make_user("admin", email="ada@example.test", full_name="آدا احمدی", locale="fa")
    departments.add_agent_to_department(SYSTEM, department, admin)
    group = catalogue.create_group(admin, code="contracts", texts={"en": {"name": "Service contracts"}},
                                   visible=False)
    product = catalogue.create_product(admin, group=group, code="x200-contract", kind=DEVICE_CONTRACT,
                                       texts={"en": {"name": "X200 service contract"},
                                              "fa": {"name": "قرارداد خدمات X200"}})
    for cycle, amount in {YEARLY: 50_000_000, BIENNIAL: 90_000_000, TRIENNIAL: 120_000_000}.items():
        catalogue.set_price(admin, product, cycle=cycle, currency="IRR", amount=amount)
    device_type = device_catalogue.create_device_type(admin, code="acme-x200", brand="Acme", model="X200",
                                                      warranty_months=12, service_months=12,
                                                      contract_product_id=product.id)
    cases.set_prices(admin, "IRR", {("simple", "small"): CASE_PRICE})
    nima = buyers.create_buyer_account(admin, email="nima@example.test", full_name="نیما نوری",
                                       national_id=NEW_OWNER_ID, phone=NEW_OWNER_PHONE, locale="fa")
    return {"admin": admin, "device_type": device_type.id, "nima_account": nima.id}


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"devices-fa-{name}.png"), full_page=True)


def persian(day) -> str:
    return format_day(day, "fa")


def mail_link(smtp, address, count=1):
    """The set-your-password link's path in the ``count``-th mail to ``address``."""
    deadline = time.monotonic() + 10
    while len(smtp.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    found = smtp.to(address)
    assert len(found) >= count, [str(m["Subject"]) for m in smtp.messages]
    text = found[count - 1].get_body(preferencelist=("plain",)).get_content()
    return re.search(re.escape(BASE) + r"(/set-password/[^\s<>\"]+)", text).group(1)


def set_password(page, path):
    page.goto(path)
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=confirm]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/set-password/" not in url)


def register_device(staff, account_id, serial, installed_on, service_ends_on):
    staff.goto(f"/agent/devices/accounts/{account_id}/new")
    form = staff.locator("main form[method=post]")
    form.locator("select[name=device_type]").select_option(label="Acme X200")
    form.locator("input[name=serial_number]").fill(serial)
    form.locator("input[name=installed_on]").fill(persian(installed_on))  # Jalali, Persian digits
    form.locator("input[name=service_ends_on]").fill(persian(service_ends_on))
    form.locator("button[type=submit]").click()
    staff.wait_for_url(re.compile(r"/agent/devices/\d+$"))
    return int(staff.url.rsplit("/", 1)[1])


def sign_installation(customer, device_id, installed_on, remarks):
    customer.goto(f"/devices/{device_id}")
    customer.locator(f"a[href='/devices/{device_id}/installation']").click()
    form = customer.locator("main form[method=post]")
    for name in ("device_installed", "connections_checked", "training_received", "everything_done"):
        form.locator(f"input[name={name}]").check()
    form.locator("input[name=installed_on]").fill(persian(installed_on))
    form.locator("textarea[name=remarks]").fill(remarks)
    form.locator("button[type=submit]").click()
    expect(customer.locator(".signed-notice")).to_be_visible()


def open_ticket_about(customer, device_id, subject):
    customer.goto(f"/devices/{device_id}/tickets")
    customer.locator(f"#new-ticket a[href*='device={device_id}']").click()
    form = customer.locator("main form[method=post]")
    expect(form.locator("select[name=device]")).to_have_value(str(device_id))
    form.locator("input[name=subject]").fill(subject)
    form.locator("textarea[name=description]").fill("دستگاه از دیروز بوق می‌زند و روشن نمی‌شود.")
    form.locator("button[type=submit]").last.click()
    customer.wait_for_url(lambda url: "/tickets/new" not in url)
    expect(customer.locator(".flash-success")).to_be_visible()
    fresh()
    return db.session.scalar(sa.select(Ticket.number).where(Ticket.subject == subject))


def charge(staff, ticket_number):
    staff.goto(f"/agent/tickets/{ticket_number}")
    staff.locator("a[href*='/agent/devices/cases/'][href$='/charge']").click()
    form = staff.locator("main form[method=post]")
    form.locator("select[name=difficulty]").select_option("simple")
    form.locator("select[name=volume]").select_option("small")
    form.locator("button[type=submit]").click()
    staff.wait_for_url(re.compile(rf"/agent/tickets/{ticket_number}$"))
    expect(staff.locator(".flash-success")).to_be_visible()


def fresh():
    db.session.rollback()
    db.session.expire_all()


def test_a_persian_buyer_from_account_to_transfer(app, seller, smtp, zarinpal, kavenegar, window):
    today = registry.today()
    ends_1, ended_2 = today + timedelta(days=20), today - timedelta(days=10)

    # Staff (in Persian) create the buyer's account and register her two devices, dates typed in Jalali.
    staff = window(language="fa")
    log_in(staff, "ada@example.test")
    staff.goto("/agent/buyers/new")
    form = staff.locator("main form[method=post]")
    form.locator("input[name=email]").fill("reza@example.test")
    form.locator("input[name=username]").fill("reza.k")
    form.locator("select[name=locale]").select_option("fa")
    form.locator("input[name=full_name]").fill("رضا کریمی")
    form.locator("input[name=national_id]").fill(BUYER_ID.translate(PERSIAN_DIGITS))
    form.locator("input[name=phone]").fill("+98 912 123 4567")
    form.locator("textarea[name=address]").fill("تهران، خیابان ولیعصر، پلاک ۱۲")
    form.locator("input[name=operator]").fill("دکتر احمدی")
    form.locator("button[type=submit]").click()
    staff.wait_for_url(re.compile(r"/agent/buyers/\d+$"))
    account_id = int(staff.url.rsplit("/", 1)[1])
    fresh()
    assert account_for_national_id(BUYER_ID).id == account_id
    first = register_device(staff, account_id, "SN-1001", today - timedelta(days=345), ends_1)
    second = register_device(staff, account_id, "SN-2002", today - timedelta(days=375), ended_2)
    expect(staff.locator("main")).to_contain_text("SN-2002")

    # The buyer chooses her password through the mailed link, then logs in with her username.
    customer = window(language="fa")
    set_password(customer, mail_link(smtp, "reza@example.test"))
    customer = window(language="fa")
    log_in(customer, "reza.k")
    customer.goto("/devices/")
    assert customer.locator("html").get_attribute("dir") == "rtl"
    rows = customer.locator("table.devices tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(persian(ends_1))
    expect(rows.nth(1)).to_contain_text(persian(ended_2))
    assert re.search(r"[0-9]", persian(ends_1)) is None  # Persian digits only
    # Until the installation is confirmed the days remaining wait; device 1's show once it is signed.
    expect(rows.nth(0).locator(".device-status")).to_have_class(re.compile("status-awaiting_confirmation"))

    # Device 1's installation confirmation, a Jalali date typed in; afterwards a read-only record.
    sign_installation(customer, first, today - timedelta(days=340), "نصب در اتاق دوم مطب.")
    record = customer.locator("main")
    expect(record).to_contain_text(persian(today - timedelta(days=340)))
    expect(customer.locator("main form[method=post]")).to_have_count(0)
    expect(customer.locator("input[name=installed_on]")).to_have_count(0)
    shot(customer, "installation-record")
    # A forged second signature (with a valid CSRF token, the log-out form's) is refused by the service.
    token = customer.locator("form[action='/logout'] input[name=csrf_token]").input_value()
    forged = customer.request.post(f"/devices/{first}/installation", form={
        "csrf_token": token, "device_installed": "y", "connections_checked": "y", "training_received": "y",
        "everything_done": "y", "installed_on": persian(today - timedelta(days=3)), "remarks": "changed"})
    assert forged.status == 409
    fresh()
    [signed] = db.session.scalars(sa.select(InstallationConfirmation).where(
        InstallationConfirmation.device_id == first)).all()
    assert "changed" not in signed.content and (today - timedelta(days=340)).isoformat() in signed.content
    sign_installation(customer, second, today - timedelta(days=370), "")

    customer.goto("/devices/")
    status_1 = rows.nth(0).locator(".device-status")
    expect(status_1).to_have_class(re.compile("status-expiring"))
    expect(status_1).to_contain_text("۲۰")  # the days remaining in Persian digits, as the dates
    expect(rows.nth(1).locator(".device-status")).to_have_class(re.compile("status-expired"))
    shot(customer, "devices")

    # A ticket about device 1 (its service runs), seen in the device's ticket panel.
    open_ticket_about(customer, first, "دستگاه ۱ روشن نمی‌شود")
    customer.goto(f"/devices/{first}/tickets")
    panel = customer.locator("#device-tickets tr.device-ticket")
    expect(panel).to_have_count(1)
    expect(panel).to_contain_text("دستگاه ۱ روشن نمی‌شود")

    # Device 1 renewed for 2 years, paid at (the fake) Zarinpal: the contract's end moves 2 years.
    customer.goto(f"/devices/{first}")
    renew = customer.locator("form.renew-form")
    renew.locator("input[name=payment_method][value=zarinpal]").check()
    renew.locator("button[name=years][value='2']").click()
    customer.wait_for_url(re.compile(r"/billing/invoices/\d+$"))
    invoice_id = int(customer.url.rsplit("/", 1)[1])
    customer.locator("form[action$='/pay/zarinpal'] button[type=submit]").click()
    customer.wait_for_url(re.compile(re.escape(zarinpal.url) + r"/pg/StartPay/\w+"))
    customer.locator("button[name=pay][value='1']").click()
    customer.wait_for_url(re.compile(rf"/billing/invoices/{invoice_id}/payment/zarinpal"))
    fresh()
    assert db.session.get(Invoice, invoice_id).status == FINAL
    renewed_until = add_months(ends_1, 24)
    assert db.session.get(Device, first).service_ends_on == renewed_until
    customer.goto(f"/devices/{first}")
    expect(customer.locator(".device-status")).to_have_class(re.compile("status-renewed"))
    expect(customer.locator("main .details")).to_contain_text(persian(renewed_until))
    shot(customer, "renewed")

    # Device 2 (expired) switched to pay-per-case; two cases charged by staff cross the debt ceiling.
    customer.goto(f"/devices/{second}")
    plan = customer.locator("form.plan-pay_per_case")
    plan.locator("input[name=confirm]").check()
    plan.locator("button[type=submit]").click()
    expect(customer.locator(".device-status")).to_have_class(re.compile("status-pay_per_case"))
    numbers = []
    for subject in ("کمپرسور صدا می‌دهد", "نرم‌افزار قفل سخت‌افزاری را نمی‌شناسد"):
        numbers.append(open_ticket_about(customer, second, subject))
    charge(staff, numbers[0])
    fresh()
    assert cases.debts_of(account_id) == {"IRR": CASE_PRICE}
    customer.goto(f"/devices/{second}/tickets")
    expect(customer.locator(".debt-warning")).to_have_count(0)
    charge(staff, numbers[1])
    sms_tasks.sweep()  # as the scheduler would: nothing waits, nothing is sent twice
    fresh()
    assert cases.debts_of(account_id) == {"IRR": 2 * CASE_PRICE}
    [warning] = db.session.scalars(sa.select(SmsMessage).where(SmsMessage.kind == "devices.debt_ceiling")).all()
    assert warning.phone == BUYER_PHONE
    assert kavenegar.to(BUYER_PHONE_KAVENEGAR).count(warning.text) == 1
    assert "تومان" in warning.text
    customer.goto(f"/devices/{second}/tickets")
    expect(customer.locator(".debt-warning")).to_have_count(1)
    expect(customer.locator("#case-charges tr.case-charge")).to_have_count(2)
    shot(customer, "debt-warning")
    assert db.session.scalar(sa.select(sa.func.count(DeviceCase.id)).where(DeviceCase.device_id == second)) == 2

    # Device 2 transferred: the buyer names the new owner, who confirms with the texted code; staff approve.
    customer.goto(f"/devices/{second}")
    customer.locator(f"a[href='/devices/{second}/transfer']").click()
    form = customer.locator("main form[method=post]")
    form.locator("input[name=name]").fill("نیما نوری")
    form.locator("input[name=national_id]").fill(NEW_OWNER_ID)
    form.locator("input[name=phone]").fill("+98 912 765 4321")
    form.locator("input[name=ends_ownership]").check()
    form.locator("button[type=submit]").click()
    expect(customer.locator(".transfer-status")).to_be_visible()
    [text] = kavenegar.to(NEW_OWNER_KAVENEGAR)
    code = re.search(r"(?<![\d۰-۹])([\d۰-۹]{6})(?![\d۰-۹])", text).group(1).translate(ASCII_DIGITS)

    nima = window(language="fa")
    nima.goto("/device-transfers/accept")
    form = nima.locator("main form[method=post]")
    form.locator("input[name=national_id]").fill(NEW_OWNER_ID.translate(PERSIAN_DIGITS))
    form.locator("input[name=code]").fill(code)
    form.locator("button[type=submit]").click()
    expect(nima.locator("main form input[name=code]")).to_have_count(0)

    staff.goto("/agent/device-transfers")
    staff.locator("main a[href^='/agent/device-transfers/']").first.click()
    expect(staff.locator(".new-account")).to_contain_text("نیما نوری")
    staff.locator("form[action$='/approve'] button[type=submit]").click()
    expect(staff.locator(".flash-success")).to_be_visible()
    shot(staff, "transfer-approved")

    fresh()
    assert db.session.get(Device, second).account_id == seller["nima_account"]
    customer.goto("/devices/")
    expect(customer.locator("table.devices tbody tr")).to_have_count(1)
    expect(customer.locator("table.devices")).not_to_contain_text("SN-2002")
    assert customer.goto(f"/devices/{second}").status == 404
    set_password(nima, mail_link(smtp, "nima@example.test"))
    nima.goto("/devices/")
    expect(nima.locator("table.devices tbody tr")).to_have_count(1)
    expect(nima.locator("table.devices")).to_contain_text("SN-2002")
