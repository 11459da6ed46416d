"""Forms of the webhook pages (issue 20), in the console (desk-wide endpoints, admins) and the portal (the acting
customer account's endpoints, its owners). The service checks the values and answers every bad field at once."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.i18n import lazy_gettext as _l
from helpdesk.webhooks.service import EVENT_LABELS


class EventsField(SelectMultipleField):
    """The event kinds as checkboxes, in the order of ``helpdesk.events.KINDS``."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("render_kw", {"class": "side-list"})
        super().__init__(label, choices=[SelectChoice(kind, words) for kind, words in EVENT_LABELS.items()],
                         **kwargs)

    def pre_validate(self, form):
        pass  # an unknown kind is refused by the service beside the field, not by WTForms


class EndpointForm(FlaskForm):
    """A customer account's endpoint."""

    url = StringField(_l("URL"), validators=[Length(max=2000)])
    description = StringField(_l("Description (optional)"), validators=[Length(max=500)])
    events = EventsField(_l("Events"))
    form_key = HiddenField()  # the adding form's one-time key (webhook_pages): a form sent again adds nothing


class DeskEndpointForm(EndpointForm):
    """A desk-wide endpoint: an admin may let it reach addresses on private networks."""

    allow_private = BooleanField(_l("Allow addresses on private networks (loopback, link-local, private ranges)"))
