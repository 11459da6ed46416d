"""Announcements from staff to all customers or to owners of a device type: portal banner, email and SMS (issue 19).
The console's list, the publish form and an announcement's page (withdraw), the portal's banners (a context
processor for base.html) and their dismissal, and the console's SMS page (recent texts and failures)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.db import utcnow
from helpdesk.devices import announcements
from helpdesk.devices.announcement_models import AUDIENCE_LABELS, CHANNEL_LABELS, KIND_LABELS
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.notify import sms
from helpdesk.web.auth import safe_next
from helpdesk.web.day_field import DayField
from helpdesk.web.forms import apply_errors
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("desk_announcements", __name__)


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AnnouncementForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=lambda: list(KIND_LABELS.items()), validate_choice=False)
    audience = SelectField(_l("Who hears about it"), choices=lambda: list(AUDIENCE_LABELS.items()),
                           validate_choice=False)
    device_type_id = SelectField(_l("Device type (for its owners)"), validate_choice=False, coerce=str)
    channels = _Checkboxes(_l("How"), choices=lambda: list(CHANNEL_LABELS.items()), validate_choice=False)
    ends_on = DayField(_l("Banner shown until (optional)"))


for _code, _language in LANGUAGES.items():
    setattr(AnnouncementForm, f"title_{_code}", StringField(_l("Title (%(language)s)", language=_language)))
    setattr(AnnouncementForm, f"text_{_code}", TextAreaField(_l("Text (%(language)s)", language=_language),
                                                             render_kw={"rows": 4}))


class ButtonForm(FlaskForm):
    """A form with nothing but its CSRF token (withdraw, dismiss)."""



def _staff():
    if not (current_user.is_authenticated and current_user.is_agent):
        abort(404)


@bp.app_context_processor
def _banners():
    """``announcement_banners()``: the announcements shown to this customer login (base.html's include)."""

    def announcement_banners():
        if not (current_user.is_authenticated and current_user.is_customer):
            return []
        return announcements.banners_for(current_user._get_current_object(), utcnow().date())

    return {"announcement_banners": announcement_banners,
            "announcement_text": lambda row: announcements.announcement_text(row, get_locale()),
            "announcement_kinds": KIND_LABELS}


@bp.route("/agent/announcements/")
@login_required
def index():
    _staff()
    return render_template("desk_announcements/list.html", rows=announcements.console_announcements(_actor()),
                           may_publish=announcements.may_publish(_actor()), audiences=AUDIENCE_LABELS,
                           channel_labels=CHANNEL_LABELS)


@bp.route("/agent/announcements/new", methods=["GET", "POST"])
@login_required
def new():
    _staff()
    if not announcements.may_publish(_actor()):
        abort(403)
    form = AnnouncementForm()
    form.device_type_id.choices = [("", "—")] + [(str(i), label) for i, label in announcements.device_type_choices()]
    if not form.is_submitted():
        form.channels.data = ["banner"]
    if form.validate_on_submit():
        texts = {code: {"title": form[f"title_{code}"].data or "", "text": form[f"text_{code}"].data or ""}
                 for code in LANGUAGES}
        try:
            row = announcements.publish(_actor(), kind=form.kind.data, texts=texts, audience=form.audience.data,
                                        device_type_id=form.device_type_id.data or None,
                                        channels=form.channels.data or (), ends_on=form.ends_on.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"title": f"title_{_default()}", "text": f"text_{_default()}"})
        else:
            flash(_("Announcement published. Its audience is being told."), "success")
            return redirect(url_for(".show", announcement_id=row.id))
    status = 400 if request.method == "POST" else 200
    return render_template("desk_announcements/form.html", form=form, languages=LANGUAGES), status


def _default():
    code = str(get_locale() or "en").split("_")[0]
    return code if code in LANGUAGES else next(iter(LANGUAGES))


@bp.route("/agent/announcements/<id:announcement_id>")
@login_required
def show(announcement_id):
    _staff()
    row = announcements.get_announcement(_actor(), announcement_id)
    return render_template("desk_announcements/show.html", row=row, form=ButtonForm(),
                           may_publish=announcements.may_publish(_actor()), audiences=AUDIENCE_LABELS,
                           channel_labels=CHANNEL_LABELS, languages=LANGUAGES)


@bp.route("/agent/announcements/<id:announcement_id>/withdraw", methods=["POST"])
@login_required
def withdraw(announcement_id):
    _staff()
    if not ButtonForm().validate_on_submit():
        abort(400)
    announcements.withdraw(_actor(), announcement_id)
    flash(_("The announcement's banner is taken down."), "success")
    return redirect(url_for(".show", announcement_id=announcement_id))


@bp.route("/announcements/<id:announcement_id>/dismiss", methods=["POST"])
@login_required
def dismiss(announcement_id):
    if not ButtonForm().validate_on_submit():
        abort(400)
    announcements.dismiss(_actor(), announcement_id)
    return redirect(safe_next(request.form.get("next")) or url_for("portal.index"))


@bp.route("/agent/sms")
@login_required
def sms_outbox():
    _staff()
    failed_only = request.args.get("show") == "failed"
    return render_template("desk_announcements/sms.html", rows=sms.recent_messages(_actor(), failed_only=failed_only),
                           failed_only=failed_only)
