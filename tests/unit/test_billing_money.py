"""Money: integer minor units, the one rounding rule (per line, half away from zero), totals that are sums of lines to
the minor unit in every currency, net and gross prices and several rates (property tests), amounts as readers see
and type them in their locale (Babel), Toman and Persian digits for Persian readers of rials, no floats."""
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import helpdesk
from helpdesk.billing.money import (
    CURRENCIES,
    AmountError,
    format_amount,
    line_amounts,
    parse_amount,
    round_minor,
    sum_lines,
)

RATES = (0, 500, 700, 1000, 1800, 1900, 2000, 2700)  # 0, 5, 7, 10 (IR), 18, 19 (DE), 20 (TR), 27 % (HU)


class Line:
    def __init__(self, amounts, rate, name):
        self.net, self.tax, self.gross = amounts.net, amounts.tax, amounts.gross
        self.tax_rate_bp, self.tax_name = rate, name


def test_round_minor_rounds_halves_away_from_zero_and_nothing_else():
    assert [round_minor(n, 2) for n in (1, 3, 5, -1, -3)] == [1, 2, 3, -1, -2]
    assert round_minor(149, 100) == 1 and round_minor(150, 100) == 2 and round_minor(-150, 100) == -2
    assert round_minor(10**30 + 1, 10**30) == 1  # exact for any size: no floats in between


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        line_amounts(9.99, 1, 1900, False)
    with pytest.raises(TypeError):
        format_amount(12.5, "EUR", "de")


def test_known_lines():
    net = line_amounts(999, 3, 1900, False)
    assert (net.net, net.tax, net.gross) == (2997, 569, 3566)  # 569.43 → 569
    gross = line_amounts(1190, 1, 1900, True)
    assert (gross.net, gross.tax, gross.gross) == (1000, 190, 1190)
    huf = line_amounts(3990, 1, 2700, True)  # forints: no minor unit
    assert (huf.net, huf.tax, huf.gross) == (3142, 848, 3990)
    reverse = line_amounts(1190, 1, 0, True, extraction_rate_bp=1900)  # a gross price sold without VAT
    assert (reverse.net, reverse.tax, reverse.gross) == (1000, 0, 1000)


lines_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**10), st.integers(min_value=1, max_value=100),
              st.sampled_from(RATES), st.booleans()),
    min_size=1, max_size=30)


@given(currency=st.sampled_from(CURRENCIES), lines=lines_strategy)
def test_totals_are_the_sums_of_the_lines_to_the_minor_unit(currency, lines):
    made = []
    for unit, quantity, rate, includes_tax in lines:
        amounts = line_amounts(unit, quantity, rate, includes_tax)
        assert amounts.net + amounts.tax == amounts.gross
        if includes_tax:
            assert amounts.gross == unit * quantity  # a gross price is what the buyer pays, to the minor unit
        else:
            assert amounts.net == unit * quantity
        assert abs(amounts.tax * 10_000 - amounts.net * rate) <= 10_000 // 2 + rate  # within one rounding
        made.append(Line(amounts, rate, "VAT" if rate else ""))
    totals = sum_lines(made)
    assert totals.net == sum(line.net for line in made)
    assert totals.tax == sum(line.tax for line in made)
    assert totals.gross == sum(line.gross for line in made) == totals.net + totals.tax
    assert sum(net for net, _tax in totals.by_rate.values()) == totals.net
    assert sum(tax for _net, tax in totals.by_rate.values()) == totals.tax
    assert all(isinstance(value, int) for value in (totals.net, totals.tax, totals.gross))


@given(amount=st.integers(min_value=0, max_value=10**13), currency=st.sampled_from(CURRENCIES),
       locale=st.sampled_from(["en", "de", "tr", "hu", "fa"]))
def test_what_a_reader_sees_they_can_type_back(amount, currency, locale):
    shown = format_amount(amount, currency, locale)
    typed = re.sub(r"[^\d.,٬٫۰-۹\s\u00a0\u202f-]", "", shown).strip()
    assert parse_amount(typed, currency, locale) == amount


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    (123450, "EUR", "de", "1.234,50\u00a0€"),
    (123450, "TRY", "tr", "₺1.234,50"),
    (12990, "HUF", "hu", "12\u00a0990\u00a0Ft"),
    (123450, "EUR", "en", "€1,234.50"),
    (123450, "IRR", "fa", "۱۲٬۳۴۵\u00a0تومان"),  # 123,450 rials are 12,345 Toman
    (123455, "IRR", "fa", "۱۲٬۳۴۵٫۵\u00a0تومان"),  # half a Toman is shown, not rounded away
    (123450, "IRR", "en", "IRR123,450"),  # other readers see rials
])
def test_amounts_in_the_readers_locale(amount, currency, locale, shown):
    assert format_amount(amount, currency, locale) == shown


def test_persian_readers_see_persian_digits_in_every_currency():
    assert format_amount(123450, "EUR", "fa").endswith("۱٬۲۳۴٫۵۰")


@pytest.mark.parametrize(("typed", "currency", "locale", "minor"), [
    ("1.234,50", "EUR", "de", 123450),
    ("1234,5", "EUR", "de", 123450),
    ("1,234.50", "EUR", "en", 123450),
    ("1.234,50", "TRY", "tr", 123450),
    ("12 990", "HUF", "hu", 12990),
    ("12\u00a0990", "HUF", "hu", 12990),
    ("۱۲٬۳۴۵", "IRR", "fa", 123450),  # Toman, typed in Persian digits
    ("12,345.5", "IRR", "fa", 123455),  # or with Latin separators
    ("123450", "IRR", "en", 123450),  # rials for everyone else
])
def test_staff_type_amounts_in_their_locale(typed, currency, locale, minor):
    assert parse_amount(typed, currency, locale) == minor


@pytest.mark.parametrize(("typed", "currency", "locale"), [
    ("1,234.50", "EUR", "de"),  # English grouping on a German form: refused, not read as 1.23450
    ("12.345", "EUR", "en"),  # three decimals
    ("1,5", "HUF", "hu"),  # forints have no decimals
    ("12.34", "IRR", "fa"),  # a hundredth of a Toman
    ("-5", "EUR", "en"), ("", "EUR", "en"), ("abc", "EUR", "en"), ("1e3", "EUR", "en"), ("NaN", "EUR", "en"),
    ("10", "USD", "en"),
])
def test_amounts_that_are_refused(typed, currency, locale):
    with pytest.raises(AmountError):
        parse_amount(typed, currency, locale)


def test_no_float_in_billing():
    source = Path(helpdesk.__file__).parent / "billing"
    offenders = [f"{path.name}:{number}" for path in source.rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if re.search(r"\bfloat\(|\d\.\d+\s*\*|\bround\(", line)]
    assert offenders == []


def test_tax_rates_are_typed_as_percentages():
    from helpdesk.billing.money import parse_rate

    assert parse_rate("19", "de") == 1900 and parse_rate("7,5 %", "de") == 750 and parse_rate("۹", "fa") == 900
    for typed in ("101", "-1", "19.555", "abc", ""):
        with pytest.raises(AmountError):
            parse_rate(typed, "en")
