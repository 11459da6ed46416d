"""Phone numbers: one normal form (E.164, "+989121234567") for every number we store or text, read with Google's
libphonenumber metadata (the ``phonenumbers`` package). A number typed without a country code is read in the
deployment's region (``PHONE_REGION``, e.g. "IR", so "0912 123 4567" works); without one it must start with "+"."""
import phonenumbers
from flask import current_app, has_app_context

from helpdesk.i18n import lazy_gettext as _l

MAX_LENGTH = 40  # what a form accepts before trying to read it


class InvalidPhone(ValueError):
    """The text is not a phone number we could text; ``str()`` is a translated message for the form."""


def default_region() -> str | None:
    if not has_app_context():
        return None
    return (current_app.config.get("PHONE_REGION") or "").upper() or None


def normalise(text: str, region: str | None = None) -> str:
    """``text`` as E.164; raises InvalidPhone with a message for the person who typed it. Persian and Arabic
    digits are read as digits."""
    text = (text or "").strip()
    if not text:
        raise InvalidPhone(_l("Enter a phone number."))
    if len(text) > MAX_LENGTH:
        raise InvalidPhone(_l("This phone number is too long."))
    text = text.translate(_DIGITS)
    try:
        number = phonenumbers.parse(text, region or default_region())
    except phonenumbers.NumberParseException:
        raise InvalidPhone(_l("Enter the phone number with its country code, e.g. +98 912 123 4567.")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(_l("This is not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_or_none(text: str | None, region: str | None = None) -> str | None:
    """E.164, or None when ``text`` is empty or not a number (for numbers that came from elsewhere)."""
    try:
        return normalise(text or "", region)
    except InvalidPhone:
        return None


def region_of(e164: str) -> str | None:
    """The ISO country code of a normalised number ("IR"), or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def display(e164: str) -> str:
    """A normalised number as people write it internationally ("+98 912 123 4567")."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits to ASCII.
_DIGITS = {**{0x06F0 + i: str(i) for i in range(10)}, **{0x0660 + i: str(i) for i in range(10)}}
