"""The installation confirmation a buyer signs, and its read-only record (issue 19). The page shows the form until the
confirmation is signed, the signed record afterwards; a second submission is refused by the service (409)."""
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import Length

from helpdesk.devices import installation
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.day_field import DayField
from helpdesk.web.forms import apply_errors
from helpdesk.web.guards import current_actor

bp = Blueprint("device_installation", __name__)
_LABELS = dict(installation.CHECKLIST)


class InstallationForm(FlaskForm):
    device_installed = BooleanField(_LABELS["device_installed"])
    connections_checked = BooleanField(_LABELS["connections_checked"])
    training_received = BooleanField(_LABELS["training_received"])
    installed_on = DayField(_l("Installation date"))
    remarks = TextAreaField(_l("Remarks (optional)"), validators=[Length(max=4000)], render_kw={"rows": 4})
    everything_done = BooleanField(_l("Everything is done: I confirm the installation as described above."))


def client_ip() -> str:
    """The client's address, as the login form records it: the TCP peer, or behind TRUSTED_PROXIES proxies the
    address they forwarded (Werkzeug's ProxyFix, set up by the app factory)."""
    return request.remote_addr or ""


def record_context(record) -> dict:
    """What a page shows of a signed record (the portal's and the console's)."""
    content = installation.content_of(record)
    return {"record": record, "content": content, "installed_on": date.fromisoformat(content["installed_on"]),
            "checklist": [(label, content["checklist"].get(key)) for key, label in installation.CHECKLIST],
            "verified": installation.hash_verified(record)}


@bp.route("/devices/<id:device_id>/installation", methods=["GET", "POST"])
@login_required
def confirm(device_id):
    if not current_user.is_customer:
        abort(404)
    actor = current_actor()
    device, record = installation.confirmation_of(actor, device_id)
    if record is not None and request.method == "GET":
        return render_template("device_installation/record.html", device=device, **record_context(record))
    form = InstallationForm()
    if form.validate_on_submit():
        try:
            installation.confirm_installation(
                actor, device.id, checklist={key: getattr(form, key).data for key in installation.CHECKLIST_KEYS},
                installed_on=form.installed_on.data, remarks=form.remarks.data,
                everything_done=form.everything_done.data, ip=client_ip())
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The installation confirmation is signed. Your device's service has started."), "success")
            return redirect(url_for(".confirm", device_id=device.id))
    return render_template("device_installation/form.html", device=device, form=form,
                           checklist_keys=installation.CHECKLIST_KEYS)
