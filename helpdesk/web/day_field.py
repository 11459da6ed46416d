"""The calendar-day field of every form (an installation date, a contract's end): the browser's date picker for
most readers, and for Persian readers a text field that shows and accepts Jalali dates ("۱۴۰۳/۱۲/۳۰", Persian or
ASCII digits) as well as ISO ones; the value is always a ``datetime.date`` (Gregorian)."""
from flask_babel import get_locale
from wtforms import Field
from wtforms.validators import ValidationError
from wtforms.widgets import Input

from helpdesk.i18n import format_day, parse_day
from helpdesk.i18n import lazy_gettext as _l


def _persian() -> bool:
    return str(get_locale() or "en").startswith("fa")


class _DayInput(Input):
    validation_attrs = ["required", "disabled", "readonly"]  # WTForms' Input base class has none: rendering failed

    def __call__(self, field, **kwargs):
        if _persian():
            self.input_type = "text"
            kwargs.setdefault("inputmode", "numeric")
            kwargs.setdefault("placeholder", "۱۴۰۳/۰۱/۳۱")
            kwargs.setdefault("dir", "ltr")
        else:
            self.input_type = "date"
        return super().__call__(field, **kwargs)


class DayField(Field):
    widget = _DayInput()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format_day(self.data) if _persian() else self.data.isoformat()

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            return
        try:
            self.data = parse_day(text)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a date such as 1403/12/30.") if _persian()
                             else _l("Enter a date such as 2025-03-20.")) from None

    def pre_validate(self, form):
        if self.process_errors:
            raise ValidationError(str(self.process_errors[0]))
