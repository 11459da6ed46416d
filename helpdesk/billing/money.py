"""Money: integer amounts in a currency's minor unit, the one rounding rule, and amounts as readers type and see them.

Amounts are ``int`` in the currency's minor unit (cents, kuruş; forints and rials have none), never floats.
Rounding happens in exactly one place: ``line_amounts`` computes each invoice line's tax with ``round_minor``
(round half away from zero, in minor units), and every total (net, tax, gross, tax per rate) is the sum of its
lines' amounts (``sum_lines``), so a line sum and a total can never differ by a cent.

Formatting is Babel's, in the reader's locale (``1.234,50 €``, ``₺1.234,50``, ``12 990 Ft``); Persian readers see
rial amounts in Toman (1 Toman = 10 IRR) with Persian digits and "تومان", and type them in Toman too
(``parse_amount`` reads what ``format_amount``'s reader would type)."""
import copy
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import NumberFormatError, format_decimal, parse_decimal

# The currencies the desk sells in and their minor-unit digits (ISO 4217; the desk's choice for HUF and IRR).
MINOR_DIGITS = {"EUR": 2, "TRY": 2, "HUF": 0, "IRR": 0}
CURRENCIES = tuple(MINOR_DIGITS)
# Rates are integers in basis points (hundredths of a percent): 2000 is 20 %, 2700 is 27 %.
RATE_SCALE = 10_000
# The largest amount a column holds with room to sum lines (BigInteger), in minor units.
MAX_AMOUNT = 10**15
IRR_PER_TOMAN = 10
TOMAN = "تومان"  # the unit's name on Persian pages (a locale datum like Babel's symbols, not a sentence)
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Persian and Arabic-Indic digits typed by staff, read as ASCII digits.
_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


class AmountError(ValueError):
    """What was typed is not an amount of this currency; ``str(error)`` is a translated sentence for the form."""


def round_minor(numerator: int, denominator: int) -> int:
    """THE rounding function: ``numerator / denominator`` to the nearest integer, halves away from zero.
    Exact integer arithmetic (no floats, no Decimal context); ``denominator`` must be positive."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        return -round_minor(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class LineAmounts:
    """One invoice line's money: ``net + tax == gross`` always."""

    net: int
    tax: int
    gross: int


def line_amounts(unit_price: int, quantity: int, rate_bp: int, includes_tax: bool,
                 extraction_rate_bp: int | None = None) -> LineAmounts:
    """A line's net, tax and gross, the one place an amount is rounded.

    ``unit_price × quantity`` is the line's price. Net prices (``includes_tax`` false): tax = round_minor(net × rate).
    Gross prices: the gross is the price exactly, the net = round_minor(gross / (1 + rate)) and the tax the difference.
    ``extraction_rate_bp`` is for gross prices sold at another rate (reverse charge, 0 %): the net is taken out
    of the gross at that rate (the seller's own), then taxed at ``rate_bp``."""
    _check_int(unit_price, quantity, rate_bp)
    price = unit_price * quantity
    if not includes_tax:
        tax = round_minor(price * rate_bp, RATE_SCALE)
        return LineAmounts(net=price, tax=tax, gross=price + tax)
    extraction = rate_bp if extraction_rate_bp is None else extraction_rate_bp
    net = round_minor(price * RATE_SCALE, RATE_SCALE + extraction)
    if extraction == rate_bp:
        return LineAmounts(net=net, tax=price - net, gross=price)
    tax = round_minor(net * rate_bp, RATE_SCALE)
    return LineAmounts(net=net, tax=tax, gross=net + tax)


def _check_int(*values):
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"money is counted in int minor units, not {type(value).__name__}")


@dataclass(frozen=True)
class Totals:
    """An invoice's totals, each the sum of its lines'; ``by_rate`` maps (tax name, rate) to (net, tax)."""

    net: int
    tax: int
    gross: int
    by_rate: dict


def sum_lines(lines) -> Totals:
    """The totals of ``lines`` (objects with net, tax, gross, tax_name, tax_rate_bp): sums, never re-rounded."""
    net = tax = gross = 0
    by_rate = {}
    for line in lines:
        net, tax, gross = net + line.net, tax + line.tax, gross + line.gross
        key = (line.tax_name or "", line.tax_rate_bp)
        base, taxed = by_rate.get(key, (0, 0))
        by_rate[key] = (base + line.net, taxed + line.tax)
    return Totals(net=net, tax=tax, gross=gross, by_rate=by_rate)


# --------------------------------------------------------------------------- units as readers see them

def _language(locale) -> str:
    return str(locale or "en").replace("-", "_").split("_")[0]


def in_toman(currency: str, locale) -> bool:
    """Whether a reader in ``locale`` sees (and types) ``currency`` in Toman: Persian readers of rials."""
    return currency == "IRR" and _language(locale) == "fa"


def to_decimal(amount: int, currency: str, locale=None) -> Decimal:
    """``amount`` (minor units) as a Decimal in the unit the reader sees: euros, lira, forints, rials or Toman."""
    _check_int(amount)
    value = Decimal(amount).scaleb(-MINOR_DIGITS[currency])
    return value / IRR_PER_TOMAN if in_toman(currency, locale) else value


def format_amount(amount: int, currency: str, locale) -> str:
    """``amount`` (minor units of ``currency``) for a reader in ``locale``, by Babel: ``1.234,50 €`` (de),
    ``₺1.234,50`` (tr), ``12 990 Ft`` (hu); Persian readers get Persian digits, and rials in Toman
    (``۱٬۲۳۴٫۵ تومان``: a tenth of a Toman is shown rather than rounded away)."""
    locale = Locale.parse(str(locale or "en").replace("-", "_"))
    if in_toman(currency, locale):
        text = format_decimal(to_decimal(amount, currency, locale), locale=locale, numbering_system="default",
                              decimal_quantization=False)
        return f"{text}\u00a0{TOMAN}".translate(_PERSIAN_DIGITS)
    digits = MINOR_DIGITS[currency]
    # The locale's currency pattern with the currency's digits (not CLDR's, which may differ for HUF).
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    system = "default" if locale.language == "fa" else "latn"
    text = pattern.apply(to_decimal(amount, currency), locale, currency=currency, currency_digits=False,
                         numbering_system=system)
    return text.translate(_PERSIAN_DIGITS) if locale.language == "fa" else text


def unit_name(currency: str, locale) -> str:
    """The unit a reader types amounts of ``currency`` in (the form's label): "تومان" for Persian readers of
    rials, else the currency's symbol in their locale (``€``, ``₺``, ``Ft``)."""
    from babel.numbers import get_currency_symbol

    return TOMAN if in_toman(currency, locale) else get_currency_symbol(currency, locale=str(locale or "en"))


_SPACES = re.compile(r"[\s\u00a0\u202f]")
# What an amount may be written with once its digits are ASCII: digits, the separators of the desk's locales
# (Persian's ٬ and ٫ among them) and a sign; no exponent ("1e3"), no "NaN".
_AMOUNT_CHARACTERS = re.compile(r"[-+]?[0-9.,'\u2019\u066b\u066c]+")


def parse_amount(text, currency: str, locale) -> int:
    """The amount typed by someone reading ``locale`` (``1.234,50`` in German, ``1,234.50`` in English,
    ``۱۲٬۳۴۵`` in Persian, grouped with spaces in Hungarian), in minor units of ``currency``. Persian readers
    type rials in Toman. Refuses (AmountError) anything else: other grouping, more decimals than the currency
    has, a negative or huge amount, letters; nothing is rounded."""
    from flask_babel import gettext as _

    if currency not in MINOR_DIGITS:
        raise AmountError(_("Choose a currency from the list."))
    raw = _SPACES.sub("", str(text or "").translate(_TO_ASCII))
    if not raw:
        raise AmountError(_("Enter an amount."))
    locale = Locale.parse(str(locale or "en").replace("-", "_"))
    value = _parse_decimal(raw, locale) if _AMOUNT_CHARACTERS.fullmatch(raw) else None
    if value is None or not value.is_finite():
        raise AmountError(_("Enter an amount such as %(example)s.",
                            example=format_amount(123450 if MINOR_DIGITS[currency] else 1234, currency, locale)))
    if value < 0:
        raise AmountError(_("The amount cannot be negative."))
    toman = in_toman(currency, locale)
    minor = value.scaleb(MINOR_DIGITS[currency] + (1 if toman else 0))
    if minor != minor.to_integral_value():
        if toman:
            raise AmountError(_("At most one decimal place (a tenth of a Toman)."))
        if not MINOR_DIGITS[currency]:
            raise AmountError(_("Enter a whole amount, without decimals."))
        raise AmountError(_("At most %(num)d decimal places.", num=MINOR_DIGITS[currency]))
    if minor > MAX_AMOUNT:
        raise AmountError(_("That amount is too large."))
    return int(minor)


def parse_rate(text, locale) -> int:
    """A tax rate typed as a percentage in ``locale`` ("19", "27", "7,5" in German) as basis points (1900, 2700,
    750); AmountError for anything else, more than two decimals, or more than 100 %."""
    from flask_babel import gettext as _

    raw = _SPACES.sub("", str(text or "").translate(_TO_ASCII)).rstrip("%٪")
    locale = Locale.parse(str(locale or "en").replace("-", "_"))
    value = _parse_decimal(raw, locale) if raw and _AMOUNT_CHARACTERS.fullmatch(raw) else None
    if value is None or not value.is_finite() or not 0 <= value <= 100:
        raise AmountError(_("Enter a rate from 0 to 100 %."))
    basis_points = value.scaleb(2)
    if basis_points != basis_points.to_integral_value():
        raise AmountError(_("At most %(num)d decimal places.", num=2))
    return int(basis_points)


def _parse_decimal(raw, locale):
    """The Decimal of ``raw`` in ``locale``'s own grouping (strict); Persian readers may also type Latin
    separators. None when it is no number."""
    systems = ("default", "latn") if locale.language == "fa" else ("latn",)
    for system in systems:
        try:
            return parse_decimal(raw, locale=locale, strict=True, numbering_system=system)
        except (NumberFormatError, InvalidOperation, ValueError):
            continue
    return None
