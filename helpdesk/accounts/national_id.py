"""Iranian national ID (کد ملی): ten digits, the last a check digit over the first nine. Staff type it for device
buyers and for the new owner of a transferred device; both go through ``normalise``."""
from helpdesk.i18n import lazy_gettext as _l

_DIGITS = {**{0x06F0 + i: str(i) for i in range(10)}, **{0x0660 + i: str(i) for i in range(10)}}


class InvalidNationalId(ValueError):
    """``str()`` is a translated message for the form."""


def check_digit_ok(code: str) -> bool:
    """Whether the ten ASCII digits ``code`` carry a right check digit: the sum of the first nine digits times
    10 … 2, modulo 11, gives the check digit itself when below 2, else 11 minus it. Ten equal digits are refused
    (they pass the sum, but no such code is issued)."""
    if len(code) != 10 or not code.isascii() or not code.isdigit() or len(set(code)) == 1:
        return False
    remainder = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    check = int(code[9])
    return check == remainder if remainder < 2 else check == 11 - remainder


def normalise(text: str) -> str:
    """The national ID as ten ASCII digits: Persian digits, spaces and dashes are accepted, and eight or nine
    digits get their leading zeros back (as some old cards print them). Raises InvalidNationalId."""
    code = (text or "").translate(_DIGITS).replace(" ", "").replace("-", "").strip()
    if not code:
        raise InvalidNationalId(_l("Enter the national ID."))
    if not code.isascii() or not code.isdigit() or not 8 <= len(code) <= 10:
        raise InvalidNationalId(_l("A national ID has ten digits."))
    code = code.zfill(10)
    if not check_digit_ok(code):
        raise InvalidNationalId(_l("This national ID's check digit is wrong: please check it."))
    return code
