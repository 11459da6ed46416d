"""Invoice PDFs, drawn with fpdf2 in the invoice's own language (the one its lines were frozen in): the seller, the
buyer, the lines with their taxes, the totals as stored, what was paid, and for an unpaid proforma how to pay it by
transfer. Persian invoices read right to left: the page is mirrored, every text shaped and put in display order by
rtl_text (fpdf2's own shaping needs uharfbuzz, which we do not have), and dates carry the Jalali date beside the
Gregorian one. Amounts are money.format_amount's (Toman for Persian readers of rials)."""
import hashlib
import logging
import os
from decimal import Decimal
from pathlib import Path

import jdatetime
from babel.dates import format_date
from babel.numbers import format_percent
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf import FPDF

from helpdesk.billing import money, rtl_text
from helpdesk.billing.access import get_invoice
from helpdesk.billing.customers import countries
from helpdesk.billing.invoices import totals_by_rate
from helpdesk.billing.models import CANCELLED, CREDITED, KIND_CREDIT_NOTE, PROFORMA, Invoice
from helpdesk.billing.transfers import bank_account_for, booking_notice
from helpdesk.i18n import RTL_LANGUAGES

LOG = logging.getLogger(__name__)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT_FAMILY, CORE_FAMILY = "invoice", "helvetica"
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
MARGIN, PAGE_WIDTH = 15.0, 210.0  # A4, millimetres
CONTENT = PAGE_WIDTH - 2 * MARGIN
LINE = 4.6  # the height of a line of 9-point text
MUTED, INK, RULE = (90, 96, 105), (20, 24, 28), (200, 205, 210)
# The lines table: (key, width); the description takes what the figures leave.
COLUMNS = (("description", 68.0), ("quantity", 12.0), ("unit_price", 26.0), ("tax", 20.0), ("net", 27.0),
           ("gross", 27.0))


def invoice_pdf(actor, invoice_id) -> tuple[str, bytes]:
    """(file name, PDF bytes) of the invoice or credit note ``invoice_id`` for ``actor`` (NotFound unless they may
    see it). Reads only."""
    invoice = get_invoice(actor, invoice_id)
    return f"{invoice.name}.pdf", render(invoice)


def render(invoice: Invoice) -> bytes:
    """The PDF of ``invoice`` in its language."""
    language = (invoice.language or "en").split("_")[0]
    with force_locale(language):
        document = InvoiceDocument(language)
        document.draw(invoice)
        return bytes(document.output())


def _font_files() -> tuple[Path | None, Path | None]:
    """(regular, bold) TrueType files: the configured ones, else DejaVu's usual place; None where neither exists.
    Each is cut to the scripts invoices are written in (``invoice_font``)."""
    found = []
    for key, default in (("BILLING_PDF_FONT", "DejaVuSans.ttf"), ("BILLING_PDF_FONT_BOLD", "DejaVuSans-Bold.ttf")):
        candidates = [Path(p) for p in (current_app.config.get(key), DEJAVU / default) if p]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            LOG.warning("invoice PDF font %s not found (%s); falling back", key, ", ".join(map(str, candidates)))
        found.append(invoice_font(path) if path is not None else None)
    regular, bold = found
    return regular, bold or regular


# What invoices are written in: Latin with Turkish and Hungarian letters, Greek and Cyrillic names, Arabic script
# with Persian letters, digits and presentation forms, general punctuation, currency signs, letterlike symbols.
INVOICE_CODEPOINTS = (*range(0x20, 0x250), *range(0x300, 0x370), *range(0x370, 0x500), *range(0x600, 0x700),
                      *range(0x750, 0x780), *range(0x2000, 0x2070), *range(0x20A0, 0x20D0), *range(0x2100, 0x2150),
                      *range(0xFB50, 0xFE00), *range(0xFE70, 0xFF00))


def invoice_font(source: Path) -> Path:
    """``source`` cut to INVOICE_CODEPOINTS, made once and kept under the instance folder (named by the source's
    path, size and time): DejaVu Sans has some 6,000 glyphs, and reading all of them for every PDF took most of
    its time. A font that cannot be cut is used whole."""
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{len(INVOICE_CODEPOINTS)}"
                         .encode()).hexdigest()[:16]
    folder = Path(current_app.config["INSTANCE_PATH"] or current_app.instance_path) / "fonts"
    target = folder / f"{source.stem}-{key}.ttf"
    if not target.is_file():
        try:
            _cut(source, target)
        except Exception:  # a font fontTools cannot subset: slower PDFs, never none
            LOG.warning("could not cut the invoice font %s; using it whole", source, exc_info=True)
            return source
    return target


def _cut(source: Path, target: Path):
    from fontTools import subset

    options = subset.Options(notdef_outline=True, recommended_glyphs=True, name_IDs=["*"], name_languages=["*"],
                             layout_features=[], hinting=False)
    options.drop_tables += ["FFTM"]  # FontForge's time stamp: nothing to cut, nothing a PDF needs
    font = subset.load_font(str(source), options)
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=INVOICE_CODEPOINTS)
    cutter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial")
    subset.save_font(font, str(partial), options)
    os.replace(partial, target)  # whole or not at all, also with two processes at once


def format_day(day, language: str) -> str:
    """A date on the invoice: Babel's medium date; Persian invoices give the Jalali date and the Gregorian one."""
    if day is None:
        return ""
    if language == "fa":
        jalali = jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d").translate(_PERSIAN_DIGITS)
        return f"{jalali} ({day.isoformat()})"
    return format_date(day, "medium", locale=language)


def format_rate(rate_bp: int, language: str) -> str:
    text = format_percent(Decimal(rate_bp) / money.RATE_SCALE, locale=language, decimal_quantization=False)
    return text.translate(_PERSIAN_DIGITS) if language == "fa" else text


class InvoiceDocument(FPDF):
    """An A4 page set for one invoice, mirrored for right-to-left languages. Positions are given from the line's
    start (the left edge in LTR, the right edge in RTL); ``text_cell`` and ``paragraph`` draw there."""

    def __init__(self, language: str):
        super().__init__(format="A4", unit="mm")
        self.language = language
        self.rtl = language in RTL_LANGUAGES
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.footer_text = ""
        regular, bold = _font_files()
        self.unicode_font = regular is not None
        if self.unicode_font:
            self.add_font(FONT_FAMILY, "", str(regular))
            self.add_font(FONT_FAMILY, "B", str(bold))
            self.family = FONT_FAMILY
        else:
            self.family = CORE_FAMILY
        self.alias_nb_pages()

    # ----------------------------------------------------------------------- drawing primitives

    def use(self, size=9.0, bold=False, colour=INK):
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*colour)

    def _has_glyph(self, char: str) -> bool:
        return ord(char) in self.current_font.cmap

    def visual(self, text: str, rtl=None) -> str:
        """``text`` as drawn: shaped and ordered (``rtl`` None: by its own first strong letter); Latin-1 only with
        the built-in fallback font."""
        text = str(text or "")
        if not self.unicode_font:
            return text.encode("latin-1", "replace").decode("latin-1")
        return rtl_text.display_line(text, rtl, self._has_glyph)

    def x_of(self, start: float, width: float) -> float:
        return MARGIN + start if not self.rtl else PAGE_WIDTH - MARGIN - start - width

    def _align(self, align: str) -> str:
        if align == "center":
            return "C"
        return "R" if (align == "end") != self.rtl else "L"

    def text_cell(self, start, width, text, *, align="start", height=LINE, rtl=None, y=None):
        """One line of ``text`` in the box at ``start`` (from the line's start) of ``width``."""
        self.set_xy(self.x_of(start, width), self.get_y() if y is None else y)
        self.cell(width, height, self.visual(text, rtl), align=self._align(align))

    def width_of(self, text: str) -> float:
        return self.get_string_width(self.visual(text))

    def wrap(self, text: str, width: float) -> list[str]:
        """``text``'s lines (logical order) no wider than ``width`` at the current font, broken between words (a
        word longer than the line is broken where it must)."""
        lines = []
        for paragraph in str(text or "").split("\n"):
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if not line or self.width_of(candidate) <= width:
                    line = candidate
                    continue
                lines.append(line)
                line = word
            while line and self.width_of(line) > width and len(line) > 1:
                cut = max(1, int(len(line) * width / self.width_of(line)))
                lines.append(line[:cut])
                line = line[cut:]
            lines.append(line)
        return lines

    def paragraph(self, start, width, text, *, align="start", height=LINE, rtl=None) -> float:
        """Draw ``text`` wrapped to ``width`` from the current y; moves below it and returns its height."""
        lines = self.wrap(text, width)
        top = self.get_y()
        for number, line in enumerate(lines):
            self.text_cell(start, width, line, align=align, height=height, rtl=rtl, y=top + number * height)
        self.set_y(top + len(lines) * height)
        return len(lines) * height

    def rule(self, y=None, colour=RULE):
        y = self.get_y() if y is None else y
        self.set_draw_color(*colour)
        self.line(MARGIN, y, PAGE_WIDTH - MARGIN, y)

    def footer(self):
        self.set_y(-12)
        self.use(7.5, colour=MUTED)
        self.text_cell(0, CONTENT - 20, self.footer_text)
        self.set_y(-12)
        self.text_cell(CONTENT - 20, 20, f"{self.page_no()}/{{nb}}", align="end", rtl=False)

    # ----------------------------------------------------------------------- the invoice

    def amount(self, invoice, value: int) -> str:
        return money.format_amount(value, invoice.currency, self.language)

    def draw(self, invoice: Invoice):
        seller = invoice.seller or {}
        self.footer_text = " · ".join(v for v in (seller.get("name"), seller.get("email"), seller.get("website"))
                                      if v)
        self.set_title(invoice.name)
        self.add_page()
        self._heading(invoice, seller)
        self._buyer(invoice)
        self._lines(invoice)
        self._totals(invoice)
        self._notes(invoice)

    def _title(self, invoice) -> str:
        if invoice.kind == KIND_CREDIT_NOTE:
            return _("Credit note")
        return _("Proforma invoice") if invoice.status in (PROFORMA, CANCELLED) else _("Invoice")

    def _heading(self, invoice, seller):
        top = self.get_y()
        self.use(14, bold=True)
        self.text_cell(0, 100, seller.get("name", ""), height=7)
        self.use(16, bold=True)
        self.text_cell(100, CONTENT - 100, self._title(invoice), align="end", height=7, y=top)
        self.set_y(top + 9)
        self.use(8.5, colour=MUTED)
        details = [seller.get("address", "")]
        if seller.get("vat_number"):
            details.append(_("VAT number: %(number)s", number=rtl_text.isolate_ltr(seller["vat_number"])))
        if seller.get("tax_office"):
            details.append(_("Tax office: %(office)s", office=seller["tax_office"]))
        details += [seller.get(key, "") for key in ("registration", "email", "phone", "website")]
        self.paragraph(0, 95, "\n".join(d for d in details if d), height=4)
        seller_bottom = self.get_y()
        self.set_y(top + 9)
        for label, value in self._facts(invoice):
            row = self.get_y()
            self.use(8.5, colour=MUTED)
            self.text_cell(CONTENT - 88, 36, label, y=row)
            self.use(8.5, bold=True)
            self.text_cell(CONTENT - 52, 52, value, align="end", y=row)
            self.set_y(row + 4.6)
        self.set_y(max(seller_bottom, self.get_y()) + 6)

    def _facts(self, invoice):
        language = self.language
        facts = []
        if invoice.number:
            facts.append((_("Number"), invoice.number))
        facts.append((_("Reference"), invoice.reference))
        if invoice.credited_invoice is not None:
            facts.append((_("Credits invoice"), invoice.credited_invoice.name))
        issued = invoice.issue_date or (invoice.created_at.date() if invoice.created_at else None)
        facts.append((_("Date"), format_day(issued, language)))
        if invoice.status == PROFORMA:
            facts.append((_("Due date"), format_day(invoice.due_date, language)))
            facts.append((_("Payment reference"), invoice.payment_reference))
        facts.append((_("Currency"), invoice.currency))
        return facts

    def _buyer(self, invoice):
        self.use(8.5, bold=True, colour=MUTED)
        self.text_cell(0, 95, _("Bill to"))
        self.ln(LINE)
        self.use(10, bold=True)
        self.paragraph(0, 95, invoice.buyer_name, height=5)
        self.use(9)
        lines = [invoice.buyer_address]
        if invoice.buyer_country:
            lines.append(countries(self.language).get(invoice.buyer_country, invoice.buyer_country))
        if invoice.buyer_tax_number:
            lines.append(_("Tax number: %(number)s", number=rtl_text.isolate_ltr(invoice.buyer_tax_number)))
        if invoice.buyer_tax_office:
            lines.append(_("Tax office: %(office)s", office=invoice.buyer_tax_office))
        self.paragraph(0, 95, "\n".join(line for line in lines if line))
        self.ln(6)

    def _column_starts(self):
        starts, at = {}, 0.0
        for key, width in COLUMNS:
            starts[key] = (at, width)
            at += width
        return starts

    def _table_head(self, columns):
        self.use(8, bold=True, colour=MUTED)
        labels = {"description": _("Description"), "quantity": _("Qty"), "unit_price": _("Unit price"),
                  "tax": _("Tax"), "net": _("Net"), "gross": _("Total")}
        top = self.get_y()
        for key, (start, width) in columns.items():
            self.text_cell(start + 1, width - 2, labels[key], align="start" if key == "description" else "end",
                           y=top)
        self.set_y(top + LINE + 1)
        self.rule()
        self.ln(1.5)

    def _lines(self, invoice):
        columns = self._column_starts()
        self._table_head(columns)
        description_width = columns["description"][1] - 2
        for line in invoice.lines:
            self.use(9)
            wrapped = self.wrap(line.description, description_width)
            height = len(wrapped) * LINE + 2
            if self.get_y() + height > 297 - 30:
                self.add_page()
                self._table_head(columns)
            top = self.get_y()
            for number, text in enumerate(wrapped):
                self.use(9, colour=INK if number == 0 else MUTED)
                self.text_cell(1, description_width, text, y=top + number * LINE)
            self.use(9)
            tax = format_rate(line.tax_rate_bp, self.language)
            figures = {"quantity": self._number(line.quantity), "unit_price": self.amount(invoice, line.unit_price),
                       "tax": f"{line.tax_name} {tax}".strip() if line.tax_rate_bp else tax,
                       "net": self.amount(invoice, line.net), "gross": self.amount(invoice, line.gross)}
            for key, text in figures.items():
                start, width = columns[key]
                self.text_cell(start + 1, width - 2, text, align="end", y=top)
            self.set_y(top + height)
            self.rule()
            self.ln(1)

    def _number(self, value: int) -> str:
        return str(value).translate(_PERSIAN_DIGITS) if self.language == "fa" else str(value)

    def _totals(self, invoice):
        totals = totals_by_rate(invoice)
        rows = [(_("Net total"), totals.net, False)]
        for (name, rate), (_base, tax) in sorted(totals.by_rate.items(), key=lambda item: item[0][1]):
            if rate:
                rows.append((f"{name} {format_rate(rate, self.language)}".strip(), tax, False))
        rows.append((_("Total"), invoice.total, True))
        if invoice.kind != KIND_CREDIT_NOTE and invoice.amount_paid:
            rows.append((_("Paid"), invoice.amount_paid, False))
        if invoice.status == PROFORMA:
            rows.append((_("Balance due"), invoice.balance_due, True))
        self.ln(2)
        for label, value, strong in rows:
            row = self.get_y()
            self.use(9.5 if strong else 9, bold=strong)
            self.text_cell(CONTENT - 100, 60, label, align="end", y=row)
            self.text_cell(CONTENT - 40, 40, self.amount(invoice, value), align="end", y=row)
            self.set_y(row + LINE + (0.8 if strong else 0))
        self.ln(5)

    def _notes(self, invoice):
        self.use(9)
        if invoice.tax_note:
            self.paragraph(0, CONTENT, invoice.tax_note)
            self.ln(3)
        if invoice.status == CREDITED:
            self.paragraph(0, CONTENT, _("This invoice was cancelled by a credit note."))
            self.ln(3)
        if invoice.status == CANCELLED:
            self.paragraph(0, CONTENT, _("This proforma invoice was cancelled."))
            self.ln(3)
        account = bank_account_for(invoice.currency)
        if invoice.status == PROFORMA and invoice.balance_due > 0 and account:
            self._bank_transfer(invoice, account)

    def _bank_transfer(self, invoice, account):
        if self.get_y() > 297 - 70:
            self.add_page()
        self.use(10, bold=True)
        self.text_cell(0, CONTENT, _("Pay by bank transfer"))
        self.ln(LINE + 1.5)
        rows = [(_("Account holder"), account.get("holder", "")), (_("Bank"), account.get("bank", "")),
                (_("IBAN"), account.get("iban", "")), (_("BIC"), account.get("bic", "")),
                (_("Payment reference"), invoice.payment_reference),
                (_("Amount"), self.amount(invoice, invoice.balance_due))]
        for label, value in rows:
            if not value:
                continue
            row = self.get_y()
            self.use(9, colour=MUTED)
            self.text_cell(0, 45, label, y=row)
            self.use(9, bold=True)
            self.text_cell(45, CONTENT - 45, value, y=row)
            self.set_y(row + LINE)
        self.ln(2)
        self.use(8.5, colour=MUTED)
        self.paragraph(0, CONTENT, _("Quote the payment reference with your transfer so that we can book it."))
        self.paragraph(0, CONTENT, booking_notice(self.language))
