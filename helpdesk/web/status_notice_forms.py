"""Forms of the status notice pages: the console's notice form (texts per language, times typed in the staff
member's time zone, the products and services affected), its update and resolve forms, and a customer's mail
preference. What a notice must be is checked by status_notices.service, which answers with every problem at once."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.status_notices.models import KIND_LABELS, OPEN_STATUSES, SEVERITY_LABELS, STATUS_LABELS


def _kinds():
    return [SelectChoice(code, label) for code, label in KIND_LABELS.items()]


def _severities():
    return [SelectChoice(code, label) for code, label in SEVERITY_LABELS.items()]


def _statuses():
    return [SelectChoice(code, STATUS_LABELS[code]) for code in OPEN_STATUSES]


def _first_statuses():
    return [SelectChoice("", _l("Scheduled for maintenance, investigating for an incident")), *_statuses()]


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _with_notice_texts(form_class):
    """``form_class`` with a title and a text field per language: ``title_<code>``, ``text_<code>``."""
    for code, language in LANGUAGES.items():
        setattr(form_class, f"title_{code}", StringField(_l("Title (%(language)s)", language=language)))
        setattr(form_class, f"text_{code}", TextAreaField(_l("Text (%(language)s)", language=language),
                                                          render_kw={"rows": 4}))
    return form_class


def _with_update_texts(form_class):
    for code, language in LANGUAGES.items():
        setattr(form_class, f"text_{code}", TextAreaField(_l("Text (%(language)s)", language=language),
                                                          render_kw={"rows": 3}))
    return form_class


@_with_notice_texts
class NoticeForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_kinds, validate_choice=False)
    severity = SelectField(_l("Severity"), choices=_severities, validate_choice=False)
    # Offered when publishing; later the status moves with updates.
    status = SelectField(_l("Status"), choices=_first_statuses, validate_choice=False)
    starts_at = StringField(_l("Starts"), render_kw={"type": "datetime-local"})
    ends_at = StringField(_l("Expected end (optional)"), render_kw={"type": "datetime-local"})
    products = _Checkboxes(_l("Products affected"), validate_choice=False, coerce=str)
    services = StringField(_l("Single services affected (their numbers, separated by commas; optional)"))


@_with_update_texts
class UpdateForm(FlaskForm):
    status = SelectField(_l("Status"), choices=_statuses, validate_choice=False)


@_with_update_texts
class ResolveForm(FlaskForm):
    """The closing words are optional."""


class MailPreferenceForm(FlaskForm):
    maintenance_mail = BooleanField(_l("Email me about planned maintenance of my services"))


def texts_from(form) -> dict:
    return {code: {"title": form[f"title_{code}"].data or "", "text": form[f"text_{code}"].data or ""}
            for code in LANGUAGES}


def update_texts_from(form) -> dict:
    return {code: form[f"text_{code}"].data or "" for code in LANGUAGES}


def texts_into(form, texts):
    for code in LANGUAGES:
        form[f"title_{code}"].data = (texts.get(code) or {}).get("title", "")
        form[f"text_{code}"].data = (texts.get(code) or {}).get("text", "")
