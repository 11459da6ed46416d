"""The time zone select of every form: the current zones named in the reader's language (helpdesk.timezones), a
saved old name (US/Eastern) shown and kept as its zone, and, for a reader who saved no zone, the browser's zone
picked by static/js/timezone.js (the server's choice stands without JavaScript)."""
from flask import current_app, url_for
from flask_login import current_user
from markupsafe import Markup
from wtforms import SelectChoice, SelectField
from wtforms.fields.choices import Choice
from wtforms.validators import ValidationError
from wtforms.widgets import Select

from helpdesk import timezones
from helpdesk.i18n import lazy_gettext as _l


class _ZoneSelect(Select):
    def __call__(self, field, **kwargs):
        if not field.offer_browser_zone():
            return super().__call__(field, **kwargs)
        kwargs["data-browser-zone"] = "1"
        script = Markup('<script src="%s" defer></script>') % url_for("static", filename="js/timezone.js")
        return super().__call__(field, **kwargs) + script


class TimeZoneField(SelectField):
    """A zone from ``helpdesk.timezones.timezone_choices``; ``blank`` labels an empty first choice ("use the
    default"). Old names sent or saved become their current zone."""

    widget = _ZoneSelect()

    def __init__(self, label=None, validators=None, blank=None, browser_zone=True, **kwargs):
        self.blank = blank
        self.browser_zone = browser_zone
        super().__init__(label, validators, choices=self._zone_choices, validate_choice=False, **kwargs)

    def _zone_choices(self):
        blank = [SelectChoice("", self.blank)] if self.blank is not None else []
        return blank + [SelectChoice(zone, label) for zone, label in timezones.timezone_choices()]

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            self.data = timezones.canonical(self.data) or self.data

    def pre_validate(self, form):
        if not self.data and self.blank is not None:
            return
        if timezones.canonical(self.data) != self.data:
            raise ValidationError(_l("Choose a time zone from the list."))

    def iter_choices(self):
        chosen = timezones.canonical(self.data) or self.data or ""
        return [Choice(value=c.value, label=c.label, selected=c.value == chosen, render_kw=c.render_kw)
                for c in self._choices_from_input(self.choices) or []]

    def offer_browser_zone(self) -> bool:
        """Whether the browser's zone may replace the shown one: a form not sent back, showing nothing or the
        desk's zone, to a reader who saved no zone."""
        if not self.browser_zone or self.raw_data:
            return False
        if self.data and timezones.canonical(self.data) != timezones.canonical(current_app.config["DEFAULT_TIMEZONE"]):
            return False
        return not (current_user and current_user.is_authenticated and getattr(current_user, "timezone", None))
