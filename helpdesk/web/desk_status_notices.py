"""Status notices in the staff console: the list, publishing a notice, correcting it, posting updates and
resolving it. Every agent reads; admins and billing staff change (status_notices.access decides: the services
refuse others and the pages offer them no forms). Times are typed in the staff member's own time zone."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _

from helpdesk.db import parse_id
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.i18n import LANGUAGES
from helpdesk.status_notices import access, audience, display, service
from helpdesk.web.forms import apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor
from helpdesk.web.status_notice_forms import (
    NoticeForm,
    ResolveForm,
    UpdateForm,
    texts_from,
    texts_into,
    update_texts_from,
)

bp = agents_only(Blueprint("desk_status_notices", __name__, url_prefix="/agent/status-notices"))

MOMENT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")




def _moment(form, name, errors):
    """The moment typed in ``form[name]`` (the reader's time zone) as aware UTC; None when empty or unreadable."""
    raw = (form[name].data or "").strip()
    if not raw:
        return None
    for pattern in MOMENT_FORMATS:
        try:
            typed = datetime.strptime(raw, pattern)
        except ValueError:
            continue
        if typed.year < 2000 or typed.year > 9000:
            break
        return typed.replace(tzinfo=_zone()).astimezone(UTC)
    errors[name] = _("Enter a date and time, such as 2026-11-24 09:30.")
    return None


def _service_numbers(form, errors) -> list[int]:
    numbers = []
    for part in (form.services.data or "").replace(";", ",").split(","):
        part = part.strip().lstrip("#")
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or len(part) > 9:
            errors["services"] = _("Enter service numbers separated by commas, such as 12, 15.")
            return []
        numbers.append(int(part))
    return numbers


def _notice_form(form=None, notice=None):
    fill = form is None
    form = form or NoticeForm(formdata=None, prefix="edit")
    form.products.choices = [(str(i), name) for i, name in display.product_choices(get_locale())]
    if notice is not None and fill:
        form.kind.data, form.severity.data = notice.kind, notice.severity
        form.starts_at.data = _local_input(notice.starts_at)
        form.ends_at.data = _local_input(notice.ends_at)
        form.products.data = [str(i) for i in notice.targets("product")]
        form.services.data = ", ".join(str(i) for i in notice.targets("service"))
        texts_into(form, notice.texts)
    return form


def _zone():
    """The reader's time zone (Flask-Babel gives a pytz zone; ZoneInfo handles daylight saving in replace)."""
    return ZoneInfo(str(get_timezone()))


def _local_input(moment):
    return moment.astimezone(_zone()).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _fields(form):
    """What the notice form says, as the service takes it (errors of unreadable fields collected)."""
    errors = {}
    fields = {"kind": form.kind.data, "severity": form.severity.data, "texts": texts_from(form),
              "starts_at": _moment(form, "starts_at", errors), "ends_at": _moment(form, "ends_at", errors),
              "products": [parse_id(p) or 0 for p in form.products.data or ()],  # 0: no such product
              "services": _service_numbers(form, errors)}
    return fields, errors


def _refuse_unreadable(errors, fields, **extra):
    """With fields the form could not read, answer with those and every other problem the service finds."""
    if not errors:
        return
    try:
        service.check_notice(**fields, **extra)
    except ValidationFailed as exc:
        raise ValidationFailed({**exc.errors, **errors}) from None
    raise ValidationFailed(errors)


@bp.route("/")
def index():
    return render_template("desk/status_notices/list.html", notices=access.console_notices(_actor()),
                           may_manage=access.may_manage(_actor()))


@bp.route("/new", methods=["GET", "POST"])
def new():
    actor = _actor()
    if not access.may_manage(actor):
        abort(403)
    form = _notice_form(NoticeForm())
    if form.validate_on_submit():
        fields, errors = _fields(form)
        try:
            _refuse_unreadable(errors, fields, status=form.status.data or None)
            notice = service.publish_notice(actor, status=form.status.data or None, **fields)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Notice published. The affected customers are being told."), "success")
            return redirect(url_for(".show", notice_id=notice.id))
    status = 400 if request.method == "POST" else 200
    return render_template("desk/status_notices/form.html", form=form, notice=None,
                           zone=str(get_timezone()), languages=LANGUAGES), status


def _show(notice, status=200, **forms):
    locale = get_locale()
    return render_template(
        "desk/status_notices/notice.html", notice=notice, may_manage=access.may_manage(_actor()),
        edit_form=forms.get("edit") or _notice_form(notice=notice),
        update_form=forms.get("update") or UpdateForm(formdata=None, status=notice.status),
        resolve_form=forms.get("resolve") or ResolveForm(formdata=None, prefix="resolve"),
        products=display.affected_products(notice, locale), services=display.service_labels(notice, locale),
        affected=audience.affected_count(notice), text=display.notice_text(notice, locale),
        update_text=lambda update: display.update_text(update, locale), zone=str(get_timezone()),
        languages=LANGUAGES), status


@bp.route("/<id:notice_id>")
def show(notice_id):
    return _show(access.get_notice(_actor(), notice_id))


@bp.route("/<id:notice_id>/edit", methods=["POST"])
def edit(notice_id):
    actor = _actor()
    notice = access.get_notice(actor, notice_id)
    form = _notice_form(NoticeForm(prefix="edit"), notice)
    if not form.validate_on_submit():
        abort(400)
    fields, errors = _fields(form)
    try:
        _refuse_unreadable(errors, fields)
        service.edit_notice(actor, notice, **fields)
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _show(notice, 400, edit=form)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("Notice saved."), "success")
    return redirect(url_for(".show", notice_id=notice.id))


@bp.route("/<id:notice_id>/updates", methods=["POST"])
def post_update(notice_id):
    actor = _actor()
    notice = access.get_notice(actor, notice_id)
    form = UpdateForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.post_update(actor, notice, status=form.status.data, texts=update_texts_from(form))
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _show(notice, 400, update=form)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("Update posted. The affected customers are being told."), "success")
    return redirect(url_for(".show", notice_id=notice.id))


@bp.route("/<id:notice_id>/resolve", methods=["POST"])
def resolve(notice_id):
    actor = _actor()
    notice = access.get_notice(actor, notice_id)
    form = ResolveForm(prefix="resolve")
    if not form.validate_on_submit():
        abort(400)
    try:
        service.resolve_notice(actor, notice, texts=update_texts_from(form))
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _show(notice, 400, resolve=form)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("Notice resolved. The affected customers are being told."), "success")
    return redirect(url_for(".show", notice_id=notice.id))
