"""The shared readers of issue 19's typed values: phone numbers to E.164, Iranian national IDs with their check
digit, and calendar days typed in the Jalali or Gregorian calendar."""
from datetime import date

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from helpdesk import phones
from helpdesk.accounts import national_id
from helpdesk.i18n import format_day, parse_day


@pytest.fixture(scope="module")
def babel_app():
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        yield app


@pytest.mark.parametrize("typed, region, expected", [
    ("+98 912 123 4567", None, "+989121234567"),
    ("0912 123 4567", "IR", "+989121234567"),
    ("۰۹۱۲-۱۲۳-۴۵۶۷", "IR", "+989121234567"),  # Persian digits
    ("٠٩١٢١٢٣٤٥٦٧", "IR", "+989121234567"),  # Arabic-Indic digits
    ("+90 (532) 123 45 67", None, "+905321234567"),
    ("+36 30 123 4567", None, "+36301234567"),
    ("0049 30 1234567", "DE", "+49301234567"),
])
def test_numbers_become_e164(typed, region, expected):
    assert phones.normalise(typed, region) == expected


@pytest.mark.parametrize("typed, region", [
    ("", None), ("0912 123 4567", None), ("+98 12", None), ("call me", "IR"), ("+1" + "5" * 45, None),
])
def test_what_is_not_a_number_is_refused_with_a_message(typed, region):
    with pytest.raises(phones.InvalidPhone) as refused:
        phones.normalise(typed, region)
    assert str(refused.value)
    assert phones.normalise_or_none(typed, region) is None


def test_a_normalised_number_knows_its_country_and_prints_internationally():
    assert phones.region_of("+989121234567") == "IR"
    assert phones.region_of("+905321234567") == "TR"
    assert phones.display("+989121234567") == "+98 912 123 4567"


@pytest.mark.parametrize("code", ["0084575948", "0013542419", "0499370899"])
def test_national_ids_with_their_right_check_digit_pass(code):
    assert national_id.check_digit_ok(code)
    assert national_id.normalise(code) == code


def test_national_ids_are_read_from_persian_digits_and_get_leading_zeros_back():
    assert national_id.normalise("۰۰۸۴۵۷۵۹۴۸") == "0084575948"
    assert national_id.normalise("84575948") == "0084575948"
    assert national_id.normalise("008-457594-8") == "0084575948"


@pytest.mark.parametrize("typed", ["0084575947", "1234567890", "0000000000", "5555555555", "12345", "abcdefghij",
                                   "00845759480", ""])
def test_wrong_national_ids_are_refused(typed):
    with pytest.raises(national_id.InvalidNationalId) as refused:
        national_id.normalise(typed)
    assert str(refused.value)


def test_every_check_digit_is_the_only_one_that_passes():
    for body in ("008457594", "123456789", "987654321", "000000001", "100000000"):
        passing = [digit for digit in "0123456789" if national_id.check_digit_ok(body + digit)]
        assert len(passing) == 1, body


def test_esfand_30_of_the_leap_year_1403_is_read_and_shown(babel_app):
    with force_locale("fa"):
        assert parse_day("۱۴۰۳/۱۲/۳۰") == date(2025, 3, 20)
        assert parse_day("1403-12-30") == date(2025, 3, 20)
        assert format_day(date(2025, 3, 20)) == "۱۴۰۳/۱۲/۳۰"
        assert format_day(date(2025, 3, 21)) == "۱۴۰۴/۰۱/۰۱"  # Nowruz
        assert parse_day("2025-03-20") == date(2025, 3, 20)  # a Gregorian year is still read as one
        with pytest.raises(ValueError):
            parse_day("1404/12/30")  # 1404 is not a leap year


def test_other_readers_type_and_see_gregorian_days(babel_app):
    with force_locale("de"):
        assert parse_day("2025-03-20") == date(2025, 3, 20)
        assert format_day(date(2025, 3, 20)) == "20.03.2025"
        with pytest.raises(ValueError):
            parse_day("1403/12/30")  # a Jalali date from a reader who is not Persian: no Gregorian year 1403
        with pytest.raises(ValueError):
            parse_day("20.03.2025")
