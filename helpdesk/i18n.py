"""Languages, locale choice, text direction, and dates in the reader's time zone and calendar."""
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime
from babel import Locale
from babel.dates import format_date as babel_format_date
from flask import current_app
from flask_babel import format_datetime as babel_format_datetime
from flask_babel import get_locale, get_timezone, gettext, pgettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

# Code -> name in its own language (shown in the language switcher untranslated, as is customary).
LANGUAGES = {
    "en": "English",
    "de": "Deutsch",
    "tr": "Türkçe",
    "hu": "Magyar",
    "fa": "فارسی",
}
RTL_LANGUAGES = frozenset({"fa"})


class PlainTextLazyString(LazyString):
    """A lazily translated message that is plain text. flask_babel's LazyString tells Jinja (and the session's
    flash serialiser, WTForms, Markup) that it is already HTML, so the values put into it, a file name or an
    address someone typed, would reach the page unescaped; this one is escaped, values and all, in HTML."""

    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> PlainTextLazyString:
    """The translation of ``string`` with ``variables`` put in, made when it is shown (in the reader's language).
    Use this, never flask_babel's lazy_gettext, for every lazy message: it is escaped wherever HTML is written."""
    return PlainTextLazyString(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables) -> PlainTextLazyString:
    """``lazy_gettext`` for a word whose meaning depends on ``context`` ("Order": a purchase in "billing",
    the sort order elsewhere): translated as its own message."""
    return PlainTextLazyString(lambda text, **values: pgettext(context, text, **values), string, **variables)


def best_language(candidates) -> str:
    """The first supported language among ``candidates`` (codes like 'de-AT' reduce to 'de')."""
    for code in candidates:
        if not code:
            continue
        base = str(code).replace("_", "-").split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return current_app.config.get("DEFAULT_LOCALE", "en")


def text_direction(locale=None) -> str:
    code = str(locale or get_locale() or "en").split("_")[0]
    return "rtl" if code in RTL_LANGUAGES else "ltr"


def isolate(text) -> Markup:
    """User-entered ``text`` (a subject, a name, a title) for HTML, set apart from the page's direction: Latin
    text on a Persian page keeps its punctuation where it was typed, and the other way round. Escaped."""
    return Markup('<bdi dir="auto">%s</bdi>') % ("" if text is None else text)


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def format_datetime(value: datetime, format: str = "medium", locale=None, tzinfo=None) -> str:
    """Format an aware UTC timestamp in the reader's zone; Persian readers get the Jalali calendar."""
    if value is None:
        return ""
    locale = str(locale or get_locale() or "en")
    zone = tzinfo or get_timezone()
    if locale.startswith("fa"):
        local = value.astimezone(zone)
        jalali = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None))
        pattern = "%Y/%m/%d" if format == "date" else "%Y/%m/%d %H:%M"
        return jalali.strftime(pattern).translate(PERSIAN_DIGITS)
    if format == "date":
        from flask_babel import format_date

        return format_date(value.astimezone(zone), "medium")
    return babel_format_datetime(value, format)


PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_ASCII_DIGITS = {**{0x06F0 + i: str(i) for i in range(10)}, **{0x0660 + i: str(i) for i in range(10)}}


def format_day(value: date | None, locale=None) -> str:
    """A calendar day (a contract's end, an installation date) for the reader: Persian readers get the Jalali
    date with Persian digits ("۱۴۰۳/۱۲/۳۰"), others their locale's medium date."""
    if value is None:
        return ""
    locale = str(locale or get_locale() or "en")
    if locale.startswith("fa"):
        return jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d").translate(PERSIAN_DIGITS)
    return babel_format_date(value, "medium", locale=locale)


def local_digits(text, locale=None):
    """``text`` with its ASCII digits in the reader's script: Persian digits for Persian readers (as their dates
    have), unchanged for everyone else. Keeps Markup as Markup."""
    locale = str(locale or get_locale() or "en")
    if not locale.startswith("fa") or text is None:
        return text
    return (text if isinstance(text, str) else str(text)).translate(PERSIAN_DIGITS)  # Markup.translate keeps Markup


def parse_day(text: str, locale=None) -> date:
    """A day typed by a reader: ISO "2025-03-20" always; for Persian readers also a Jalali "1403/12/30" (Persian
    or ASCII digits, "/" or "-"), told apart by its year (below 1700: Jalali). Raises ValueError."""
    text = (text or "").strip().translate(_ASCII_DIGITS).replace("/", "-")
    parts = text.split("-")
    if len(parts) != 3 or not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError(text)
    year, month, day = (int(part) for part in parts)
    locale = str(locale or get_locale() or "en")
    if year < 1700 and locale.startswith("fa"):
        return jdatetime.date(year, month, day).togregorian()
    if not 1900 <= year <= 2200:  # no day a helpdesk records (a typo, or a Jalali year from a non-Persian reader)
        raise ValueError(text)
    return date(year, month, day)


def language_name(code: str) -> str:
    return LANGUAGES.get(code) or Locale.parse(code).display_name


def select_locale():
    """The reader's language: their saved setting, then the language cookie, then the browser's."""
    from flask import has_request_context, request

    if not has_request_context():
        return current_app.config.get("DEFAULT_LOCALE", "en")
    user = getattr(request, "helpdesk_user", None)
    if user is not None and getattr(user, "locale", None) in LANGUAGES:
        return user.locale
    cookie = request.cookies.get("lang")
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(list(LANGUAGES)) or current_app.config.get("DEFAULT_LOCALE", "en")


def select_timezone():
    from flask import has_request_context, request

    if has_request_context():
        user = getattr(request, "helpdesk_user", None)
        if user is not None and getattr(user, "timezone", None) and valid_timezone(user.timezone):
            return user.timezone
    return current_app.config.get("DEFAULT_TIMEZONE", "UTC")
