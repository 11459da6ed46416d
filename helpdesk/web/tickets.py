"""The portal's ticket pages: submitting a ticket (guests and customers), my tickets, a ticket's page with its
actions, and attachment downloads. Each action parses its form and calls one ticket service function."""
import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from helpdesk import storage
from helpdesk.actors import GUEST_FORM
from helpdesk.db import parse_id
from helpdesk.devices import cases
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db, limiter
from helpdesk.i18n import select_timezone
from helpdesk.tickets import access, details, device_gate, service, ticket_accounts
from helpdesk.tickets.events import format_size
from helpdesk.tickets.models import CLOSED, NORMAL, PRIORITIES, Department, Ticket
from helpdesk.tickets.reply_matching import follow_merges
from helpdesk.web import participants
from helpdesk.web.downloads import content_disposition
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor
from helpdesk.web.thread import thread_items
from helpdesk.web.ticket_forms import (
    AddCCForm,
    EditTicketForm,
    NewTicketForm,
    RemoveCCForm,
    ReplyForm,
    timezone_choices,
)

bp = Blueprint("tickets", __name__)
bp.add_app_template_filter(format_size, "filesize")

PER_PAGE = 20
MAX_PAGE = 10**6  # beyond this the offset would overflow the database's integer
# Served with their own type (so <img> shows them); everything else is an opaque download.
INLINE_SAFE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
                               "text/plain"})
FILTERS = ("all", "open", "closed")



def _logged_in_customer():
    return _actor() if current_user.is_authenticated and current_user.is_customer else None


def _customers_only():
    """Ticket pages are the customers'; agents work in the staff console."""
    if not current_user.is_customer:
        abort(404)


def _department_choices():
    departments = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    return [("", _("Not sure"))] + [(str(d.id), d.name) for d in departments]


def _priority_choices():
    return [(code, str(label)) for code, label in PRIORITIES.items()]



# --------------------------------------------------------------------------- submitting a ticket

# The form's fields whose values the ticket store keeps as the ticket's details (tickets/details.py), by the
# store's name for each.
DETAIL_FIELDS = {"reference": "reference", "server_ip": "server_ip", "problem_started": "problem_started",
                 "problem_timezone": "problem_timezone", "diagnostics": "diagnostics", "service": "service",
                 "company_name": "company", "customer_number": "customer_number", "device": "device"}


def _given_details(form):
    """What was typed in the form's detail fields (those it has), for the ticket store to check."""
    return {name: form[field].data for name, field in DETAIL_FIELDS.items() if field in form}


def _service_choices(customer):
    """The service picker's choices, or None when the customer has no services to pick (no billing yet)."""
    services = details.customer_services(customer)
    if not services:
        return None
    return [("", _("No particular service"))] + [(s.ref, s.label) for s in services]


def _device_choices(customer):
    """The device picker's choices (a device the gate would refuse says why), or None when there are none."""
    if customer is None:
        return None
    try:
        acting = ticket_accounts.acting_account(customer)
    except NotAllowed:
        return None
    devices = device_gate.device_choices(customer, acting.id if acting is not None else None)
    if not devices:
        return None
    return [("", _("No particular device"))] + [
        (d.ref, _("%(device)s (%(reason)s)", device=d.label, reason=d.reason) if d.reason else d.label)
        for d in devices]


@bp.route("/tickets/new", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def new():
    customer = _logged_in_customer()
    form = NewTicketForm()
    if customer is not None:
        for name in ("email", "full_name", "company", "customer_number", "privacy"):
            delattr(form, name)
    form.department.choices = _department_choices()
    form.priority.choices = _priority_choices()
    form.problem_timezone.choices = timezone_choices()
    services = _service_choices(customer)
    if services is None:
        delattr(form, "service")
    else:
        form.service.choices = services
    devices = _device_choices(customer)
    if devices is None:
        delattr(form, "device")
    else:
        form.device.choices = devices
    if request.method == "GET":
        form.priority.data = NORMAL
        form.problem_timezone.data = select_timezone()
        if devices is not None:
            form.device.data = request.args.get("device", "")
    if form.validate_on_submit():
        actor = customer or (_actor() if current_user.is_authenticated else GUEST_FORM)
        try:
            ticket = service.open_ticket(
                actor, subject=form.subject.data, body_text=form.description.data, details=_given_details(form),
                requester_email=None if customer else form.email.data,
                requester_name="" if customer else form.full_name.data,
                department=form.department.data or None, priority=form.priority.data,
                attachments=form.attachments.uploads, source="web",
                privacy_consent=None if customer else current_app.config["PRIVACY_POLICY_VERSION"],
            )
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"requester_email": "email", "body": "description", **DETAIL_FIELDS})
        else:
            flash(_("Ticket #%(number)s created; we sent you a confirmation email.", number=ticket.number),
                  "success")
            note = device_gate.case_note(ticket)
            if note:
                flash(note, "warning")
            return redirect(url_for("portal.index"))
    elif form.is_submitted():
        # The details' own errors too, so that every field error shows at once.
        errors = {}
        details.check_details(errors, _given_details(form), customer=customer)
        if "device" in form:
            acting = ticket_accounts.acting_account(customer)
            device_gate.check_device(errors, customer, acting.id if acting is not None else None, form.device.data)
        apply_errors(form, errors, DETAIL_FIELDS)
    status = 400 if request.method == "POST" else 200
    return render_template("tickets/new.html", form=form, customer=customer,
                           diagnostics_max=format_decimal(details.DIAGNOSTICS_MAX)), status


# --------------------------------------------------------------------------- my tickets

@bp.route("/tickets")
@login_required
def index():
    _customers_only()
    state = request.args.get("status", "all")
    if state not in FILTERS:
        state = "all"
    page = parse_id(request.args.get("page", "1"))
    if page is None or page > MAX_PAGE:
        abort(404)
    query = access.visible_tickets(_actor()).options(selectinload(Ticket.department))
    if state == "open":
        query = query.where(Ticket.status != CLOSED)
    elif state == "closed":
        query = query.where(Ticket.status == CLOSED)
    rows = db.session.scalars(
        query.order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
        .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)
    ).all()
    return render_template("tickets/index.html", tickets=rows[:PER_PAGE], state=state, page=page,
                           has_next=len(rows) > PER_PAGE, filters=FILTERS)


# --------------------------------------------------------------------------- a ticket

def _thread(ticket):
    return thread_items(ticket.public_messages)


def _forms(ticket, **given):
    edit = given.get("edit") or EditTicketForm(
        formdata=None, subject=ticket.subject, priority=ticket.priority,
        department=str(ticket.department_id or ""))
    edit.priority.choices = _priority_choices()
    if "department" in edit:
        edit.department.choices = _department_choices()
    return {
        "reply_form": given.get("reply") or ReplyForm(formdata=None),
        "cc_form": given.get("cc") or participants.kept_form(AddCCForm, ticket) or AddCCForm(formdata=None),
        "edit_form": edit,
        "remove_form": RemoveCCForm(formdata=None),
        "post_form": PostForm(formdata=None),
    }


def _merged_into(ticket):
    """The ticket a merged one now lives in, when this customer may see it (else None: the page just says merged)."""
    if ticket.merged_into_id is None:
        return None
    target = follow_merges(ticket)
    return target if target is not ticket and access.can_view(_actor(), target) else None


def _render_ticket(ticket, status=200, **given):
    return render_template("tickets/show.html", ticket=ticket, thread=_thread(ticket),
                           merged_into=_merged_into(ticket), department_movable=access.customer_may_move(ticket),
                           device_case=cases.case_for_ticket(ticket.id), **_forms(ticket, **given)), status


def _ticket(number):
    _customers_only()
    return access.get_ticket(_actor(), number)


@bp.route("/tickets/<id:number>")
@login_required
def show(number):
    return _render_ticket(_ticket(number))


@bp.route("/tickets/<id:number>/reply", methods=["POST"])
@login_required
def reply(number):
    ticket = _ticket(number)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            service.add_customer_message(_actor(), ticket, body_text=form.body.data,
                                         attachments=form.reply_attachments.uploads, source="web")
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"body": "body", "attachments": "reply_attachments"})
        except service.TicketMerged as exc:
            flash(exc.message, "error")  # the page says where the conversation went
            return redirect(url_for("tickets.show", number=ticket.number, _anchor="merged"))
        else:
            flash(_("Your reply was added."), "success")
            return redirect(url_for("tickets.show", number=ticket.number))
    return _render_ticket(ticket, 400, reply=form)


@bp.route("/tickets/<id:number>/cc", methods=["POST"])
@login_required
def add_cc(number):
    ticket = _ticket(number)
    form = AddCCForm()
    if not participants.add_cc(_actor(), ticket, form):
        participants.keep_form(form, ticket)  # shown again, with its error, on the ticket's page
        return redirect(url_for("tickets.show", number=ticket.number, _anchor="participants"))
    return redirect(url_for("tickets.show", number=ticket.number))


@bp.route("/tickets/<id:number>/cc/remove", methods=["POST"])
@login_required
def remove_cc(number):
    ticket = _ticket(number)
    participants.remove_cc(_actor(), ticket, RemoveCCForm())
    return redirect(url_for("tickets.show", number=ticket.number))


@bp.route("/tickets/<id:number>/edit", methods=["POST"])
@login_required
def edit(number):
    ticket = _ticket(number)
    form = EditTicketForm()
    form.priority.choices = _priority_choices()
    form.department.choices = _department_choices()
    if "department" not in request.form:
        del form.department  # not offered once an agent took the ticket up (access.customer_may_move)
    if form.validate_on_submit():
        changes = {"subject": form.subject.data, "priority": form.priority.data}
        if "department" in form:
            changes["department"] = form.department.data or None
        try:
            service.update_ticket(_actor(), ticket, **changes)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {})
        else:
            flash(_("The ticket's details were saved."), "success")
            return redirect(url_for("tickets.show", number=ticket.number))
    return _render_ticket(ticket, 400, edit=form)


def _change_state(number, change, done):
    ticket = _ticket(number)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        change(_actor(), ticket)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("tickets.show", number=ticket.number))


@bp.route("/tickets/<id:number>/close", methods=["POST"])
@login_required
def close(number):
    return _change_state(number, service.close, _("The ticket is closed."))


@bp.route("/tickets/<id:number>/reopen", methods=["POST"])
@login_required
def reopen(number):
    return _change_state(number, service.reopen, _("The ticket is open again."))


# --------------------------------------------------------------------------- attachments

@bp.route("/attachments/<id:attachment_id>")
@login_required
def attachment(attachment_id):
    found = access.get_attachment(_actor(), attachment_id)
    content_type = found.content_type.split(";")[0].strip().lower()
    if content_type not in INLINE_SAFE_TYPES:
        content_type = "application/octet-stream"
    try:
        data = storage.open(found.sha256)
    except (OSError, ValueError):
        abort(404)
    response = Response(data, mimetype=content_type)
    response.content_length = data.size
    # Always a download when opened directly; an <img> still shows allowlisted images (served with their type).
    response.headers["Content-Disposition"] = content_disposition(found.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
