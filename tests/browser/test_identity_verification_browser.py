"""Identity verification in Chromium (issue 18): an individual's first order waits on hold for their identity
(policy "before_first_order"); they upload an ID document in the portal; staff open the verification queue in the
console, download the document and approve it; the held order proceeds and the portal says "Verified". A rejection
shows its reason and lets the customer upload again. Screenshots go to artifacts/screenshots/."""
import re

import pytest
from playwright.sync_api import expect

from helpdesk.actors import SYSTEM
from helpdesk.billing import payments
from helpdesk.billing.models import Order
from tests.browser.conftest import SCREENSHOTS, log_in
from tests.integration.billing_shop import billing_app
from tests.integration.billing_web import latest, web_shop
from tests.integration.test_identity_verification import PNG


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, IDENTITY_VERIFICATION="before_first_order")


@pytest.fixture
def shop(app):
    return web_shop()




def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"identity-{name}.png"), full_page=True)


def open_identity_page(customer):
    customer.get_by_role("link", name="Profile").click()
    customer.get_by_role("link", name="Identity verification").click()


def upload(customer, name="ausweis.png"):
    field = customer.get_by_label("ID document (a photo or scan", exact=False)
    field.set_input_files({"name": name, "mimeType": "image/png", "buffer": PNG})
    customer.get_by_role("button", name="Upload for review").click()
    expect(customer.locator(".flash-success")).to_contain_text("we received your ID document")
    expect(customer.locator(".verification-status")).to_have_text("Awaiting review")


def open_review(staff, account_name):
    staff.goto("/agent/")
    staff.locator("summary", has_text="More").click()
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Identity verification").click()
    staff.get_by_role("link", name=account_name).click()


def test_an_individual_uploads_an_id_staff_approve_and_the_held_order_proceeds(shop, window):
    customer = window()
    log_in(customer, "carla@example.test")
    customer.get_by_role("link", name="Products and services").first.click()
    customer.get_by_role("link", name="Web hosting").first.click()
    customer.get_by_role("button", name="Add to cart").click()
    customer.get_by_label("Bank transfer").check()
    customer.get_by_role("button", name="Place the order").click()
    customer.wait_for_url(re.compile(r"/billing/invoices/\d+$"))
    placed = latest(Order)
    assert placed.status == "on_hold"
    # The transfer arrives: paid, but the order still waits for the identity.
    payments.record_payment(SYSTEM, invoice=placed.invoice, amount=placed.invoice.total, currency="EUR",
                            source="bank_transfer", external_id="STATEMENT-1")
    customer.goto(f"/billing/orders/{placed.id}")
    expect(customer.locator(".order-status")).to_have_text("On hold")

    open_identity_page(customer)
    expect(customer.locator(".verification-status")).to_have_text("Please verify your identity")
    upload(customer)
    shot(customer, "awaiting-review")

    staff = window()
    log_in(staff, "ada@example.test")
    open_review(staff, shop.carla_account.customer_account.name)
    with staff.expect_download() as downloading:
        staff.get_by_role("link", name="ausweis.png").click()
    assert downloading.value.suggested_filename == "ausweis.png"
    shot(staff, "review")
    staff.get_by_role("button", name="Approve: identity verified").click()
    expect(staff.locator(".flash-success")).to_contain_text("The identity is verified")

    customer.goto(f"/billing/orders/{placed.id}")
    expect(customer.locator(".order-status")).to_have_text("Active")
    customer.get_by_role("link", name="My services").click()
    expect(customer.locator(".service-status")).to_have_text(["Active"])
    open_identity_page(customer)
    expect(customer.locator(".verification-status")).to_have_text("Verified")
    expect(customer.get_by_role("button", name="Upload for review")).to_have_count(0)
    shot(customer, "verified")


def test_a_rejected_document_shows_its_reason_and_the_customer_uploads_again(shop, window):
    customer = window()
    log_in(customer, "carla@example.test")
    customer.goto("/account/identity")
    upload(customer, "blurry.png")

    staff = window()
    log_in(staff, "ada@example.test")
    open_review(staff, shop.carla_account.customer_account.name)
    staff.get_by_label("Reason (the customer reads it)").fill("The photo is blurred.")
    staff.get_by_role("button", name="Reject").click()
    expect(staff.locator(".flash-success")).to_contain_text("The document was rejected")

    customer.reload()
    expect(customer.locator(".verification-status")).to_have_text("Rejected: The photo is blurred.")
    shot(customer, "rejected")
    upload(customer, "sharp.png")
