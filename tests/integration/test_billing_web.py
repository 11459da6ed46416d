"""The billing pages at work, through the test client (on PostgreSQL): the catalogue for guests and customers in
their language and currency (Toman for Persian readers), the cart and checkout, an invoice's page with how to pay it,
proofs of payment, paying from credit, staff booking transfers (with a second approver above the limit), accepting
and holding orders, credit notes, the catalogue managed from the console, keyset pages, and GETs that write
nothing."""
import io
import re

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.billing import credit, customers, payments
from helpdesk.billing.catalogue_models import Product, ProductGroup
from helpdesk.billing.models import Invoice, Order, PaymentProof, Service, TransferBooking
from helpdesk.extensions import db
from tests.integration.billing_shop import billing_app, order
from tests.integration.billing_web import (
    BOOKING_TIME,
    PASSWORD,
    field_error,
    fresh,
    latest,
    login,
    post,
    settled,
    text_of,
    web_shop,
)

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, BILLING_TRANSFER_BOOKING_TIME=BOOKING_TIME, MAX_ATTACHMENT_BYTES=4096)


@pytest.fixture
def shop(app):
    return web_shop()


def cart_version(page):
    return re.search(r'name="cart" type="hidden" value="([^"]*)"', page).group(1)


def order_through_the_pages(client, product, method="bank_transfer", cycle="monthly", **choices):
    """Put ``product`` in the cart and check out; returns the invoice page's response."""
    added = post(client, f"/billing/products/{product.id}", {"cycle": cycle, "quantity": "1", **choices})
    assert added.status_code == 302, text_of(added.text)
    cart = client.get("/billing/cart")
    placed = post(client, "/billing/checkout", {"payment_method": method, "cart": cart_version(cart.text)},
                  page="/billing/cart")
    assert placed.status_code == 302, placed.headers
    return client.get(placed.headers["Location"])


# --------------------------------------------------------------------------- the catalogue

def test_guests_see_the_catalogue_and_are_asked_to_log_in_to_order(client, shop):
    page = text_of(client.get("/billing/").text)
    assert "Web hosting" in page and "PHP, MySQL, mail" in page and "€9.90" in page
    assert "To order, please log in or register." in page
    product = client.get(f"/billing/products/{shop.web.id}")
    assert "Add to cart" not in product.text and "/login?next=" in product.text
    refused = post(client, f"/billing/products/{shop.web.id}", {"cycle": "monthly", "quantity": "1"})
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]


def test_the_catalogue_speaks_the_readers_language_and_currency(client, shop):
    client.set_cookie("lang", "de")
    german = text_of(client.get("/billing/?currency=EUR").text)
    assert "Webhosting" in german and "PHP, MySQL, E-Mail" in german and "9,90 €" in german
    client.set_cookie("lang", "fa")
    persian = client.get("/billing/?currency=IRR").text
    assert 'dir="rtl"' in persian
    # 12,000,000 rials are 1,200,000 Toman, in Persian digits.
    assert "۱٬۲۰۰٬۰۰۰ تومان" in text_of(persian)
    assert "قرارداد خدمات" in text_of(persian)


def test_the_currency_switcher_is_remembered_and_a_persian_reader_starts_in_rials(client, shop):
    client.set_cookie("lang", "fa")
    assert "تومان" in text_of(client.get("/billing/").text)
    client.set_cookie("lang", "en")
    client.get("/billing/?currency=HUF")
    assert "3,990" in text_of(client.get("/billing/").text)  # 3 990 Ft, still in forints


# --------------------------------------------------------------------------- cart, checkout, the invoice page

def test_the_cart_holds_choices_never_prices(client, shop):
    login(client, shop.carla)
    post(client, f"/billing/products/{shop.web.id}", {"cycle": "monthly", "quantity": "1", "option-disk": "50gb",
                                                     "identifier": "carla.example", "price": "1", "amount": "1"})
    with client.session_transaction() as session:
        assert session["billing_cart"] == [{"product_id": shop.web.id, "cycle": "monthly",
                                            "options": {"disk": "50gb"}, "identifier": "carla.example",
                                            "quantity": 1}]
    page = text_of(client.get("/billing/cart").text)
    # 9.90 + 3.00 for 50 GB, the setup fee 4.95, 19 % USt.: from the catalogue, whatever the form said.
    assert "€12.90" in page and "€4.95" in page and "€21.24" in page


def test_a_customer_orders_and_the_invoice_page_says_how_to_pay_by_transfer(client, shop):
    login(client, shop.carla)
    page = order_through_the_pages(client, shop.web)
    invoice = latest(Invoice)
    text = text_of(page.text)
    assert f"Proforma invoice {invoice.reference}" in text
    assert "DE89 3704 0044 0532 0130 00" in text and "Commerzbank" in text and invoice.payment_reference in text
    assert BOOKING_TIME["en"] in text
    assert "Send proof of payment" in text
    assert f"#{invoice.order_id}" in text_of(client.get("/billing/orders").text)
    assert invoice.reference in client.get("/billing/invoices?state=unpaid").text
    assert invoice.reference not in client.get("/billing/invoices?state=paid").text
    with client.session_transaction() as session:
        assert "billing_cart" not in session  # ordered once


def test_the_booking_time_is_worded_in_the_readers_language(client, shop):
    login(client, shop.carla)
    order_through_the_pages(client, shop.web)
    client.set_cookie("lang", "hu")
    assert BOOKING_TIME["hu"] in text_of(client.get(f"/billing/invoices/{latest(Invoice).id}").text)


def test_a_resent_checkout_form_orders_once(client, shop):
    login(client, shop.carla)
    post(client, f"/billing/products/{shop.web.id}", {"cycle": "monthly", "quantity": "1"})
    version = cart_version(client.get("/billing/cart").text)
    first = post(client, "/billing/checkout", {"payment_method": "bank_transfer", "cart": version},
                 page="/billing/cart")
    again = post(client, "/billing/checkout", {"payment_method": "bank_transfer", "cart": version},
                 page="/billing/cart", follow_redirects=True)
    assert first.status_code == 302 and "Your cart changed since you saw it" in again.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


def test_the_credit_balance_is_offered_when_it_covers_the_total_and_pays_at_checkout(client, shop):
    login(client, shop.carla)
    post(client, f"/billing/products/{shop.domain.id}", {"cycle": "yearly", "quantity": "1"})
    assert 'value="credit"' not in client.get("/billing/cart").text
    settled()
    credit.adjust_credit(shop.admin, shop.carla_account, currency="EUR", amount=10_000, note="Goodwill")
    assert 'value="credit"' in client.get("/billing/cart").text
    page = order_through_the_pages(client, shop.domain, method="credit", cycle="yearly")
    invoice = latest(Invoice)
    assert invoice.status == "final" and invoice.number in text_of(page.text)
    assert "Paid from your credit balance." in page.text
    assert fresh(Service, invoice.order.services[0].id).status == "active"


def test_a_proof_of_payment_is_checked_like_an_attachment_and_reaches_staff(client, shop):
    login(client, shop.carla)
    order_through_the_pages(client, shop.web)
    invoice = latest(Invoice)
    path = f"/billing/invoices/{invoice.id}/proof"
    program = post(client, path, {"proof": (io.BytesIO(b"MZ\x90\x00program"), "receipt.exe")},
                   page=f"/billing/invoices/{invoice.id}", content_type="multipart/form-data")
    assert program.status_code == 400 and "programs and scripts cannot be attached" in program.text
    large = post(client, path, {"proof": (io.BytesIO(b"%PDF" + b"x" * 5000), "big.pdf")},
                 page=f"/billing/invoices/{invoice.id}", content_type="multipart/form-data")
    assert large.status_code == 400 and "larger than the limit" in large.text
    sent = post(client, path, {"proof": (io.BytesIO(b"%PDF-1.4 receipt"), "Überweisung.pdf")},
                page=f"/billing/invoices/{invoice.id}", content_type="multipart/form-data", follow_redirects=True)
    assert "we received your proof of payment" in sent.text and "Überweisung.pdf" in sent.text
    proof = latest(PaymentProof)
    download = client.get(f"/billing/proofs/{proof.id}")
    assert download.data == b"%PDF-1.4 receipt" and download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    login(client, shop.agent)
    assert "Überweisung.pdf" in client.get("/agent/billing/proofs").text


def test_the_invoice_pdf_downloads(client, shop):
    login(client, shop.carla)
    order_through_the_pages(client, shop.web)
    response = client.get(f"/billing/invoices/{latest(Invoice).id}/pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert ".pdf" in response.headers["Content-Disposition"]


def test_pay_from_credit_on_the_invoice_page(client, shop):
    login(client, shop.carla)
    order_through_the_pages(client, shop.web)
    invoice = latest(Invoice)
    credit.adjust_credit(shop.admin, shop.carla_account, currency="EUR", amount=1000, note="Goodwill")
    page = client.get(f"/billing/invoices/{invoice.id}").text
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', page).group(1)
    paid = post(client, f"/billing/invoices/{invoice.id}/pay-from-credit", {"key": key},
                page=f"/billing/invoices/{invoice.id}")
    again = post(client, f"/billing/invoices/{invoice.id}/pay-from-credit", {"key": key},
                 page=f"/billing/invoices/{invoice.id}")
    assert paid.status_code == again.status_code == 302
    invoice = fresh(Invoice, invoice.id)
    assert invoice.amount_paid == 1000 and invoice.status == "proforma"  # partly paid, once
    balance = text_of(client.get("/billing/balance").text)
    assert "Paid an invoice" in balance and "Adjustment by staff: Goodwill" in balance
    assert "Partly paid" in text_of(client.get("/billing/invoices").text)


# --------------------------------------------------------------------------- staff

def test_staff_book_a_transfer_and_the_invoice_becomes_final_and_the_service_active(client, shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    login(client, shop.bilge)
    booked = post(client, "/agent/billing/transfers", {"invoice": invoice.payment_reference.lower(),
                                                       "amount": f"{invoice.total / 100:.2f}",
                                                       "value_date": "2026-06-01", "bank_reference": "BANK-1"},
                  follow_redirects=True)
    assert "Transfer booked on" in booked.text
    invoice = fresh(Invoice, invoice.id)
    assert invoice.status == "final" and re.fullmatch(r"\d{4}-000001", invoice.number)
    login(client, shop.carla)
    assert "Active" in text_of(client.get("/billing/services").text)
    assert invoice.number in client.get("/billing/invoices?state=paid").text


def test_a_large_transfer_waits_for_a_second_staff_member(client, shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.contract, cycle="biennial", quantity=3)
    login(client, shop.bilge)
    post(client, "/agent/billing/transfers", {"invoice": invoice.reference, "amount": f"{invoice.total / 100:.2f}",
                                              "value_date": "2026-06-01", "bank_reference": "BANK-BIG",
                                              "from_invoice": str(invoice.id)},
         page=f"/agent/billing/invoices/{invoice.id}")
    booking = latest(TransferBooking)
    assert booking.status == "awaiting_approval" and fresh(Invoice, invoice.id).status == "proforma"
    queue = client.get("/agent/billing/transfers").text
    assert "Awaiting approval" in queue and "Another staff member must approve this booking." in queue
    login(client, shop.admin)
    assert "1 bank transfer awaits a second approval." in client.get("/agent/billing/orders").text
    post(client, f"/agent/billing/transfers/{booking.id}/approve", page="/agent/billing/transfers")
    assert fresh(TransferBooking, booking.id).status == "counted"
    assert fresh(Invoice, invoice.id).status == "final"


def test_a_wrong_reference_or_amount_is_answered_beside_the_field(client, shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    login(client, shop.admin)
    unknown = post(client, "/agent/billing/transfers", {"invoice": "RF00NOTHING", "amount": "1.00",
                                                        "value_date": "2026-06-01", "bank_reference": "X"})
    assert unknown.status_code == 400 and field_error(unknown.text, "invoice") == "No invoice has this reference."
    wrong = post(client, "/agent/billing/transfers", {"invoice": invoice.payment_reference, "amount": "1.234",
                                                      "value_date": "2026-06-01", "bank_reference": "X"})
    assert wrong.status_code == 400 and field_error(wrong.text, "amount") == "At most 2 decimal places."


def test_staff_accept_hold_and_cancel_orders(client, shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    login(client, shop.admin)
    assert f"#{placed.id}" in client.get("/agent/billing/orders").text
    post(client, f"/agent/billing/orders/{placed.id}/hold", {"note": "Check the domain first"},
         page=f"/agent/billing/orders/{placed.id}")
    assert fresh(Order, placed.id).status == "on_hold"
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="held-1")
    assert fresh(Service, placed.services[0].id).status == "pending"  # held: paid, not started
    post(client, f"/agent/billing/orders/{placed.id}/accept", page=f"/agent/billing/orders/{placed.id}")
    assert fresh(Order, placed.id).status == "active" and fresh(Service, placed.services[0].id).status == "active"
    other, _unpaid = order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    post(client, f"/agent/billing/orders/{other.id}/cancel", page=f"/agent/billing/orders/{other.id}")
    assert fresh(Order, other.id).status == "cancelled"
    assert "Check the domain first" in client.get(f"/agent/billing/orders/{placed.id}").text


def test_a_final_invoice_is_cancelled_by_a_credit_note(client, shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="cn-1")
    login(client, shop.admin)
    page = post(client, f"/agent/billing/invoices/{invoice.id}/credit-note", {"reason": "Ordered by mistake"},
                page=f"/agent/billing/invoices/{invoice.id}", follow_redirects=True)
    note = latest(Invoice)
    assert note.kind == "credit_note" and note.number.startswith("CN-") and note.number in page.text
    assert fresh(Invoice, invoice.id).status == "credited"
    assert credit.balance(shop.carla_account.id, "EUR") == invoice.total


def test_staff_find_invoices_by_reference_number_or_customer(client, shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    _other, bora_invoice = order(shop.bora, shop.bora_account, shop.web, currency="TRY")
    login(client, shop.agent)
    by_reference = client.get(f"/agent/billing/invoices?q={invoice.payment_reference[:4]} "
                              f"{invoice.payment_reference[4:]}").text
    assert invoice.reference in by_reference and bora_invoice.reference not in by_reference
    by_name = client.get("/agent/billing/invoices?q=bora").text
    assert bora_invoice.reference in by_name and invoice.reference not in by_name


def test_staff_change_a_customers_details_and_credit(client, shop):
    login(client, shop.admin)
    account = shop.carla_account.id
    bad = post(client, f"/agent/billing/customers/{account}/details",
               {"name": "Carla GmbH", "country": "DE", "customer_type": "business", "tax_number": "DE 123!",
                "currency": "EUR"}, page=f"/agent/billing/customers/{account}")
    assert bad.status_code == 400 and field_error(bad.text, "tax_number")
    post(client, f"/agent/billing/customers/{account}/credit", {"direction": "add", "currency": "EUR",
                                                               "amount": "12.50", "note": "Downtime in May"},
         page=f"/agent/billing/customers/{account}")
    take = post(client, f"/agent/billing/customers/{account}/credit",
                {"direction": "remove", "currency": "EUR", "amount": "20.00", "note": "Too much"},
                page=f"/agent/billing/customers/{account}", follow_redirects=True)
    assert "Your credit balance is not enough for this payment." in take.text
    settled()
    assert credit.balance(account, "EUR") == 1250
    page = text_of(client.get(f"/agent/billing/customers/{account}").text)
    assert "Adjustment by staff: Downtime in May" in page and "€12.50" in page


def test_a_customer_keeps_their_billing_details(client, shop):
    login(client, shop.carla)
    bad = post(client, "/billing/details", {"name": "", "country": "DE", "customer_type": "business",
                                            "currency": "EUR"})
    assert bad.status_code == 400 and field_error(bad.text, "name") == "Enter the name the invoices are made out to."
    post(client, "/billing/details", {"name": "Kunde GmbH", "address": "Ring 1\n1010 Wien", "country": "AT",
                                      "customer_type": "business", "tax_number": "ATU12345678", "currency": "EUR"})
    order_through_the_pages(client, shop.web)
    invoice = latest(Invoice)
    assert (invoice.buyer_name, invoice.buyer_country, invoice.reverse_charge) == ("Kunde GmbH", "AT", True)


def test_paying_renewals_from_credit_is_the_customers_choice_and_staff_can_change_it(client, shop):
    """Renewal invoices are paid from the credit balance when it covers them, unless the customer (or billing
    staff for them) unticks it in the billing details."""
    account = customers.account_of(shop.carla)
    details = {"name": "Carla Customer", "country": "DE", "customer_type": "individual", "currency": "EUR"}
    login(client, shop.carla)
    page = client.get("/billing/details").text
    assert re.search(r'<input[^>]*checked[^>]*name="auto_pay_from_credit"|<input[^>]*name="auto_pay_from_credit"'
                     r'[^>]*checked', page), "ticked for an account that pays renewals from credit"
    post(client, "/billing/details", details)  # a checkbox left unticked is not sent
    settled()
    assert customers.account_of(shop.carla).auto_pay_from_credit is False
    post(client, "/billing/details", {**details, "auto_pay_from_credit": "y"})
    settled()
    assert customers.account_of(shop.carla).auto_pay_from_credit is True

    login(client, shop.bilge)
    post(client, f"/agent/billing/customers/{account.id}/details", details,
         page=f"/agent/billing/customers/{account.id}")
    settled()
    assert customers.account_of(shop.carla).auto_pay_from_credit is False


def test_billing_staff_build_the_catalogue_in_the_console(client, shop):
    login(client, shop.bilge)
    post(client, "/agent/billing/catalogue/groups/new", {"code": "servers", "name_en": "Servers",
                                                         "name_de": "Server", "position": "5", "visible": "y"})
    settled()
    group = db.session.scalar(sa.select(ProductGroup).where(ProductGroup.code == "servers"))
    created = post(client, "/agent/billing/catalogue/products/new",
                   {"code": "vps", "group": str(group.id), "kind": "product", "name_en": "Virtual server",
                    "description_en": "2 vCPU, 4 GB", "position": "0", "active": "y", "taxable": "y"},
                   page="/agent/billing/catalogue/products/new")
    settled()
    product = db.session.scalar(sa.select(Product).where(Product.code == "vps"))
    page = f"/agent/billing/catalogue/products/{product.id}"
    assert created.headers["Location"].endswith(page)
    post(client, f"{page}/prices", {"cycle": "monthly", "currency": "EUR", "amount": "19.90", "setup_fee": "0"},
         page=page)
    client.set_cookie("lang", "de")  # amounts are typed as the reader writes them
    post(client, f"{page}/prices", {"cycle": "yearly", "currency": "EUR", "amount": "199,00", "setup_fee": "0"},
         page=page)
    client.set_cookie("lang", "en")
    post(client, f"{page}/options", {"code": "ram", "name_en": "Memory", "choices": "4gb = 4 GB\n8gb = 8 GB"},
         page=page)
    choice = fresh(Product, product.id).options[0].choices[1]
    post(client, f"{page}/choice-prices", {"choice": str(choice.id), "cycle": "monthly", "currency": "EUR",
                                           "amount": "5.00", "setup_fee": "0"}, page=page)
    post(client, "/agent/billing/catalogue/tax-rules", {"country": "AT", "customer_type": "", "name": "USt.",
                                                        "rate": "20"}, page="/agent/billing/catalogue/")
    prices = {(p.cycle, p.amount) for p in fresh(Product, product.id).prices}
    assert prices == {("monthly", 1990), ("yearly", 19900)}
    catalogue_page = text_of(client.get("/agent/billing/catalogue/").text)
    assert "Virtual server" in catalogue_page and "Austria" in catalogue_page
    login(client, shop.carla)
    shop_page = text_of(client.get("/billing/").text)
    assert "Servers" in shop_page and "Virtual server" in shop_page and "€19.90" in shop_page
    assert "8 GB (+€5.00, Monthly)" in text_of(client.get(f"/billing/products/{product.id}").text)


def test_a_wrong_price_is_answered_beside_its_field(client, shop):
    login(client, shop.admin)
    page = f"/agent/billing/catalogue/products/{shop.web.id}"
    response = post(client, f"{page}/prices", {"cycle": "monthly", "currency": "HUF", "amount": "12.5"}, page=page)
    assert response.status_code == 400
    assert field_error(response.text, "amount") == "Enter a whole amount, without decimals."


def test_my_invoices_come_in_keyset_pages(client, shop):
    for _n in range(27):
        order(shop.carla, shop.carla_account, shop.domain, cycle="yearly")
    login(client, shop.carla)
    first = client.get("/billing/invoices").text
    rows = re.findall(r'href="/billing/invoices/(\d+)"', first)
    assert len(rows) == 25
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = re.findall(r'href="/billing/invoices/(\d+)"', client.get(older).text)
    assert len(second) == 2 and not set(second) & set(rows)


def test_billing_pages_write_nothing_when_read(client, shop, make_user):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    counted = []
    sa.event.listen(db.engine, "commit", lambda conn: counted.append(1))
    pages = ["/billing/", f"/billing/products/{shop.web.id}", "/billing/?currency=IRR"]
    customer_pages = ["/billing/cart", "/billing/orders", f"/billing/orders/{placed.id}", "/billing/services",
                      "/billing/invoices", f"/billing/invoices/{invoice.id}", f"/billing/invoices/{invoice.id}/pdf",
                      "/billing/balance", "/billing/details"]
    staff_pages = ["/agent/billing/orders", f"/agent/billing/orders/{placed.id}", "/agent/billing/invoices",
                   f"/agent/billing/invoices/{invoice.id}", "/agent/billing/transfers", "/agent/billing/proofs",
                   "/agent/billing/customers", f"/agent/billing/customers/{shop.carla_account.id}",
                   "/agent/billing/catalogue/", f"/agent/billing/catalogue/products/{shop.web.id}"]
    newcomer = make_user("customer", password=PASSWORD)  # no billing account yet
    db.session.commit()
    newcomer_pages = ["/billing/cart", "/billing/orders", "/billing/invoices", "/billing/balance", "/billing/details"]
    for who, paths in ((None, pages), (shop.carla, pages + customer_pages), (newcomer, newcomer_pages),
                       (shop.agent, staff_pages)):
        if who is not None:
            login(client, who)
        for path in paths:
            counted.clear()
            assert client.get(path).status_code == 200, path
            assert counted == [], path
    settled()
    assert customers.account_of(newcomer) is None  # reading made no billing account


def test_the_audit_trail_links_billing_records_to_their_console_pages(client, shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    login(client, shop.admin)
    page = client.get("/agent/admin/audit").text
    assert f'href="/agent/billing/orders/{placed.id}"' in page
    assert f'href="/agent/billing/customers/{shop.carla_account.id}"' in page
    assert f'href="/agent/billing/catalogue/products/{shop.web.id}"' in page
    settled()
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="audit-1")
    assert f'href="/agent/billing/invoices/{invoice.id}"' in client.get("/agent/admin/audit").text
