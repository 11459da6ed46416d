"""Invoice PDFs as a reader sees them: the text each one draws, read back through its fonts' Unicode tables, in the
invoice's language (en, de, tr, hu, fa); Persian invoices drawn right to left with shaped letters, the Jalali date
beside the Gregorian one and rials in Toman; the bank details on an unpaid proforma; a missing font falls back."""
import unicodedata
from datetime import date
from pathlib import Path

import jdatetime
import pytest

from helpdesk.actors import SYSTEM
from helpdesk.billing import customers, payments, pdf
from helpdesk.billing.money import format_amount
from helpdesk.billing.rtl_text import display_line
from helpdesk.errors import NotFound
from tests.integration.billing_shop import billing_app, build_shop, order, person
from tests.pdf_text import drawn_text


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def shop(app):
    return build_shop()


def persian_customer(shop):
    reza = person("customer", "reza@example.test", locale="fa")
    account = customers.open_account(reza, reza)
    customers.update_details(reza, account, name="رضا محمدی", address="تهران، خیابان ولیعصر", country="IR",
                             currency="IRR")
    return reza, account


def page_text(data):
    return "\n".join(drawn_text(data))


def test_an_english_proforma_names_both_parties_lines_totals_and_how_to_pay(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web, options={"disk": "50gb"})
    name, data = pdf.invoice_pdf(shop.carla, invoice.id)
    assert name == f"{invoice.reference}.pdf" and data.startswith(b"%PDF")
    text = page_text(data)
    for expected in ("Proforma invoice", "Example Hosting GmbH", "VAT number: DE123456789", "Carla Kunde",
                     "Hauptstraße 5", "Germany", "Web hosting", "Disk: 50 GB", "Setup fee: Web hosting", "USt. 19%",
                     "Pay by bank transfer", "DE89 3704 0044 0532 0130 00", invoice.payment_reference,
                     format_amount(invoice.total, "EUR", "en")):
        assert expected in text, expected


def test_a_paid_invoice_shows_its_number_and_no_bank_details(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                            external_id="pdf-paid")
    name, data = pdf.invoice_pdf(shop.carla, invoice.id)
    text = page_text(data)
    assert name == f"{invoice.number}.pdf"
    assert "Invoice" in text and invoice.number in text and "Paid" in text
    assert "Pay by bank transfer" not in text and "Balance due" not in text


@pytest.mark.parametrize("language, title, total_label", [
    ("de", "Proformarechnung", "Gesamt"), ("tr", "Proforma fatura", "Toplam"), ("hu", "Díjbekérő", "Összesen"),
])
def test_the_invoice_is_written_in_its_own_language(shop, language, title, total_label):
    buyer = person("customer", f"buyer-{language}@example.test", locale=language)
    account = customers.open_account(buyer, buyer)
    customers.update_details(buyer, account, name=f"Käufer {language}", country="HU", currency="HUF")
    _placed, invoice = order(buyer, account, shop.web, currency="HUF")
    text = page_text(pdf.invoice_pdf(buyer, invoice.id)[1])
    assert format_amount(invoice.total, "HUF", language) in text
    assert "ÁFA" in text and f"Käufer {language}" in text
    assert title in text and total_label in text  # the words are the invoice's language's


def test_a_persian_invoice_is_shaped_right_to_left_with_toman_and_the_jalali_date(shop):
    reza, account = persian_customer(shop)
    _placed, invoice = order(reza, account, shop.contract, cycle="yearly", currency="IRR")
    lines = drawn_text(pdf.invoice_pdf(reza, invoice.id)[1])
    text = "\n".join(lines)
    # The buyer's name in presentation forms, in display order: yeh (isolated) first, reh last.
    assert "\ufbfc\ufeaa\ufee4\ufea4\ufee3 \ufe8e\ufebf\ufead" in lines
    assert display_line("پیش‌فاکتور") in lines  # the title, in Persian
    # No Persian letter is drawn unshaped (U+0600-U+06FF; digits and punctuation are no letters).
    assert not [c for c in text if "\u0600" <= c <= "\u06ff" and unicodedata.category(c) == "Lo"]
    # The amount in Toman (1 Toman = 10 rials), as drawn.
    assert display_line(format_amount(invoice.total, "IRR", "fa")) in lines
    assert "تومان" in format_amount(invoice.total, "IRR", "fa")
    # The Jalali date beside the Gregorian one.
    created = invoice.created_at.date()
    jalali = jdatetime.date.fromgregorian(date=created).strftime("%Y/%m/%d").translate(
        str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert any(jalali in line and created.isoformat() in line for line in lines)
    # Latin values keep their reading order in the right-to-left page.
    assert invoice.payment_reference in lines and "DE89 3704 0044 0532 0130 00" in lines


def test_a_persian_invoice_draws_right_aligned(shop):
    reza, account = persian_customer(shop)
    _placed, invoice = order(reza, account, shop.contract, cycle="yearly", currency="IRR")
    document = pdf.InvoiceDocument("fa")
    cells = []
    original = document.cell

    def record(width, height, text="", *args, **kwargs):
        cells.append((document.get_x(), text, kwargs.get("align")))
        return original(width, height, text, *args, **kwargs)

    document.cell = record
    document.draw(invoice)
    name_cell = next(cell for cell in cells if cell[1] == display_line("رضا محمدی"))
    assert name_cell[2] == "R" and name_cell[0] >= 100  # the buyer block sits on the right half


def test_the_jalali_and_gregorian_dates_are_formatted_by_language():
    assert pdf.format_day(date(2026, 3, 21), "fa") == "۱۴۰۵/۰۱/۰۱ (2026-03-21)"
    assert pdf.format_day(date(2026, 3, 21), "de") == "21.03.2026"


def test_another_customer_gets_no_pdf(shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    with pytest.raises(NotFound):
        pdf.invoice_pdf(shop.bora, invoice.id)


def test_a_missing_font_falls_back_to_dejavu_then_to_a_latin_font(app, shop, monkeypatch, tmp_path):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    app.config.update(BILLING_PDF_FONT=str(tmp_path / "missing.ttf"), BILLING_PDF_FONT_BOLD=str(tmp_path / "x.ttf"))
    assert "Carla Kunde" in page_text(pdf.render(invoice))  # DejaVu's usual place
    monkeypatch.setattr(pdf, "DEJAVU", tmp_path)
    data = pdf.render(invoice)  # the built-in font: Latin-1 only, no error
    assert data.startswith(b"%PDF") and b"/BaseFont /Helvetica" in data


def test_the_font_is_cut_to_the_invoice_scripts_once_and_kept(app, shop):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    pdf.render(invoice)
    folder = Path(app.config["INSTANCE_PATH"]) / "fonts"
    cut = sorted(folder.glob("DejaVuSans*.ttf"))
    assert [p.name.split("-")[0] for p in cut] == ["DejaVuSans", "DejaVuSans"]  # regular and bold
    assert all(p.stat().st_size < (pdf.DEJAVU / "DejaVuSans.ttf").stat().st_size / 2 for p in cut)
    made = [p.stat().st_mtime_ns for p in cut]
    pdf.render(invoice)
    assert [p.stat().st_mtime_ns for p in cut] == made and sorted(folder.iterdir()) == cut


def test_a_font_that_cannot_be_cut_is_used_whole(app, shop, monkeypatch):
    _placed, invoice = order(shop.carla, shop.carla_account, shop.web)

    def broken(source, target):
        raise ValueError("not a font we can cut")

    monkeypatch.setattr(pdf, "_cut", broken)
    assert "Carla Kunde" in page_text(pdf.render(invoice))
