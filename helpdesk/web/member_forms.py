"""Forms of a customer account's members pages (issue 18): inviting, a member's permissions, staff adding a
customer."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.accounts.member_sentences import PERMISSION_LABELS
from helpdesk.i18n import lazy_gettext as _l


class PermissionsField(SelectMultipleField):
    """The permissions as checkboxes; the service says which of them may be given."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("render_kw", {"class": "side-list"})
        super().__init__(label, choices=[SelectChoice(code, words) for code, words in PERMISSION_LABELS.items()],
                         **kwargs)

    def pre_validate(self, form):
        pass  # an unknown permission is refused by the service beside the field, not by WTForms


class InviteForm(FlaskForm):
    email = StringField(_l("Email address"), validators=[DataRequired(_l("Enter an email address.")),
                                                         Length(max=254)])
    permissions = PermissionsField(_l("Allowed"))


class PermissionsForm(FlaskForm):
    permissions = PermissionsField(_l("Allowed"))
    owner = BooleanField(_l("Owner (may do everything, including managing owners)"))


class AddMemberForm(FlaskForm):
    email = StringField(_l("Customer's email address"), validators=[DataRequired(_l("Enter an email address.")),
                                                                    Length(max=254)])
    permissions = PermissionsField(_l("Allowed"))
    owner = BooleanField(_l("Owner (may do everything, including managing owners)"))
