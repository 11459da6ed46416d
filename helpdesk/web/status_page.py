"""Service status for customers and the public: the banner of each current notice about a customer's own
services on every portal page, the public status page (current, upcoming and past notices with the products they
affect, never a customer) and a notice's page, and a customer's choice about maintenance mail."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.db import utcnow
from helpdesk.status_notices import access, display, service
from helpdesk.status_notices.models import KIND_LABELS, SEVERITY_LABELS, STATUS_LABELS
from helpdesk.web.status_notice_forms import MailPreferenceForm

bp = Blueprint("status", __name__, url_prefix="/status")


@bp.app_context_processor
def _banners():
    """``status_banners()``: the current notices about the reader's own services (customers only), as base.html
    shows them; ``notice_text(notice)`` and ``notice_products(notice)`` in the reader's language."""

    def status_banners():
        if not (current_user.is_authenticated and current_user.is_customer):
            return []
        return access.banners_for(current_user._get_current_object(), utcnow())

    return {"status_banners": status_banners, "notice_text": lambda notice: display.notice_text(notice, get_locale()),
            "notice_products": lambda notice: display.affected_products(notice, get_locale()),
            "notice_update_text": lambda update: display.update_text(update, get_locale()),
            "status_now": utcnow, "notice_kinds": KIND_LABELS, "notice_severities": SEVERITY_LABELS,
            "notice_statuses": STATUS_LABELS}


@bp.route("/")
def index():
    current, upcoming, past = access.public_notices(utcnow())
    return render_template("status/index.html", current=current, upcoming=upcoming, past=past)


@bp.route("/<id:notice_id>")
def notice(notice_id):
    return render_template("status/notice.html", notice=access.public_notice(notice_id, utcnow()))


@bp.route("/mail-preferences", methods=["GET", "POST"])
@login_required
def mail_preferences():
    user = current_user._get_current_object()
    if not user.is_customer:
        abort(404)
    form = MailPreferenceForm()
    if form.validate_on_submit():
        service.set_maintenance_mail(user, user, bool(form.maintenance_mail.data))
        flash(_("Your choice has been saved."), "success")
        return redirect(url_for(".mail_preferences"))
    if not form.is_submitted():
        form.maintenance_mail.data = service.wants_maintenance_mail(user)
    return render_template("status/mail_preferences.html", form=form)
