"""Billing in Chromium: a customer orders and chooses bank transfer, staff book the transfer from the statement (a
second staff member approves it when it is above the limit), and the customer finds the invoice final with its number
and the service active; the same in Persian, right to left with amounts in Toman; and the billing pages fit a phone
and a desktop window. Screenshots go to artifacts/screenshots/."""
import re

import pytest
from playwright.sync_api import expect

from helpdesk.billing.models import Invoice
from tests.browser.conftest import SCREENSHOTS, WIDTHS, log_in, overflow
from tests.integration.billing_shop import billing_app, order
from tests.integration.billing_web import BOOKING_TIME, latest, web_shop


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, BILLING_TRANSFER_BOOKING_TIME=BOOKING_TIME)


@pytest.fixture
def shop(app):
    return web_shop()




def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"billing-{name}.png"), full_page=True)


def fits(page):
    found = overflow(page)
    assert found["by"] <= 0, f"{page.url} is {found['by']}px wider than the window: {found['offenders']}"


def book_transfer(staff, reference, amount, bank_reference):
    """Staff book a transfer from the statement through the console's menu."""
    staff.goto("/agent/")
    staff.locator("summary", has_text="More").click()
    staff.get_by_role("link", name="Billing", exact=True).click()
    staff.get_by_role("link", name="Bank transfers").click()
    staff.get_by_label("Invoice (payment reference, reference or number)").fill(reference)
    staff.get_by_label("Amount received").fill(amount)
    staff.get_by_label("Value date").fill("2026-06-01")
    staff.get_by_label("Bank reference of the transfer").fill(bank_reference)
    staff.get_by_role("button", name="Book the transfer").click()
    expect(staff.locator(".flash-success")).to_contain_text("Transfer booked on")


def test_an_order_paid_by_bank_transfer_is_booked_by_staff_and_becomes_active(shop, window):
    customer = window()
    log_in(customer, "carla@example.test")
    customer.get_by_role("link", name="Products and services").first.click()
    customer.get_by_role("link", name="Web hosting").first.click()
    customer.get_by_label("Disk").select_option("50gb")
    customer.get_by_label("Domain or host name (optional)").fill("carla.example")
    customer.get_by_role("button", name="Add to cart").click()
    expect(customer.locator(".billing-totals .grand")).to_contain_text("€21.24")
    customer.get_by_label("Bank transfer").check()
    shot(customer, "en-cart")
    customer.get_by_role("button", name="Place the order").click()
    customer.wait_for_url(re.compile(r"/billing/invoices/\d+$"))
    expect(customer.locator(".bank-transfer")).to_contain_text("DE89 3704 0044 0532 0130 00")
    expect(customer.locator(".booking-notice")).to_have_text(BOOKING_TIME["en"])
    reference = customer.locator(".bank-transfer .payment-reference").inner_text().strip()
    shot(customer, "en-proforma")

    staff = window()
    log_in(staff, "bilge@example.test")
    book_transfer(staff, reference, "21.24", "STATEMENT-2026-06-01-17")

    customer.reload()
    invoice = latest(Invoice)
    assert invoice.status == "final" and re.fullmatch(r"\d{4}-000001", invoice.number)
    expect(customer.get_by_role("heading", level=1)).to_contain_text(f"Invoice {invoice.number}")
    expect(customer.locator(".invoice-status")).to_have_text("Paid")
    expect(customer.locator(".bank-transfer")).to_have_count(0)
    shot(customer, "en-invoice-final")
    customer.get_by_role("link", name="My services").click()
    expect(customer.locator(".service-status")).to_have_text(["Active"])


def test_the_same_in_persian_with_toman_right_to_left_and_a_second_approver(shop, window):
    customer = window(language="fa")
    log_in(customer, "reza@example.test")
    customer.goto("/billing/")
    assert customer.locator("html").get_attribute("dir") == "rtl"
    contract = customer.locator(f"#product-{shop.contract.id}")
    expect(contract).to_contain_text("قرارداد خدمات")
    expect(contract).to_contain_text("تومان")
    shot(customer, "fa-catalogue")
    contract.get_by_role("link").first.click()
    customer.locator("input[name=cycle][value=yearly]").check()
    customer.locator("input[name=quantity]").fill("2")
    customer.locator("form.order-form button[type=submit]").click()
    customer.locator("input[name=payment_method][value=bank_transfer]").check()
    customer.locator("form[action$='/billing/checkout'] button[type=submit]").click()
    customer.wait_for_url(re.compile(r"/billing/invoices/\d+$"))
    invoice = latest(Invoice)
    # 2 × 360,000,000 rials + 10 % VAT = 792,000,000 rials: 79,200,000 Toman in Persian digits.
    assert invoice.total == 792_000_000
    expect(customer.locator(".bank-transfer")).to_contain_text("۷۹٬۲۰۰٬۰۰۰ تومان")
    expect(customer.locator(".bank-transfer .payment-reference")).to_have_text(invoice.payment_reference)
    shot(customer, "fa-proforma")

    booker = window()
    log_in(booker, "bilge@example.test")
    book_transfer(booker, invoice.payment_reference, "792000000", "MELLAT-99812")
    queue = booker.locator(".bookings").first  # the approval queue; the latest bookings follow
    expect(queue.locator(".awaiting")).to_have_count(1)
    expect(queue).to_contain_text("Another staff member must approve this booking.")
    assert latest(Invoice).status == "proforma"

    approver = window()
    log_in(approver, "ada@example.test")
    approver.goto("/agent/billing/transfers")
    approver.get_by_role("button", name="Approve").click()
    expect(approver.locator(".flash-success")).to_contain_text("Transfer approved")

    customer.reload()
    invoice = latest(Invoice)
    assert invoice.status == "final"
    expect(customer.locator(".invoice-number")).to_have_text(invoice.number)
    expect(customer.locator(".billing-totals .grand")).to_contain_text("۷۹٬۲۰۰٬۰۰۰ تومان")
    shot(customer, "fa-invoice-final")
    customer.goto("/billing/services")
    expect(customer.locator(".service-status")).to_have_count(1)
    assert customer.locator(".service-status").inner_text() != "Pending"
    assert invoice.order.services[0].status == "active"
    shot(customer, "fa-services")


PORTAL_PAGES = ("/billing/", "/billing/products/{product}", "/billing/cart", "/billing/invoices",
                "/billing/invoices/{invoice}", "/billing/orders/{order}", "/billing/balance", "/billing/details")
CONSOLE_PAGES = ("/agent/billing/orders", "/agent/billing/invoices/{invoice}", "/agent/billing/transfers",
                 "/agent/billing/customers/{account}", "/agent/billing/catalogue/",
                 "/agent/billing/catalogue/products/{product}")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_billing_pages_fit_a_phone_and_a_desktop(shop, window, language):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web, identifier="a-very-long-subdomain-name-"
                            "for-the-shop.example-customer-domain.example", options={"disk": "50gb"})
    ids = {"product": shop.web.id, "invoice": invoice.id, "order": placed.id, "account": shop.carla_account.id}
    customer, staff = window(language=language), window(language=language)
    log_in(customer, "carla@example.test")
    log_in(staff, "ada@example.test")
    customer.goto(f"/billing/products/{shop.web.id}")
    customer.locator("form.order-form button[type=submit]").click()
    too_wide = []
    for label, width in WIDTHS.items():
        for who, pages in ((customer, PORTAL_PAGES), (staff, CONSOLE_PAGES)):
            who.set_viewport_size({"width": width, "height": 900})
            for path in pages:
                response = who.goto(path.format(**ids))
                assert response.ok, path
                name = path.strip("/").replace("/", "-").format(**ids) or "catalogue"
                name = re.sub(r"\{?\d+\}?", "n", name)
                shot(who, f"{language}-{label}-{name}")
                found = overflow(who)
                if found["by"] > 0:
                    too_wide.append(f"{path} at {width}px: {found['by']}px {found['offenders']}")
    assert not too_wide, "\n".join(too_wide)
