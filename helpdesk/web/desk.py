"""The staff console: the queue of tickets (views, SLA views, filters, sorts, keyset pages, bulk changes) and
the mail quarantine. Customers never reach it."""
import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.accounts.models import ROLE_ADMIN, ROLE_AGENT, User
from helpdesk.db import utcnow
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from helpdesk.inbound import quarantine, reasons
from helpdesk.tickets import queue, sla
from helpdesk.tickets.bulk import BULK_DONE, bulk_update
from helpdesk.tickets.models import PRIORITIES, STATUSES, Department
from helpdesk.web.downloads import content_disposition
from helpdesk.web.forms import OpenFromQuarantineForm, PostForm

bp = Blueprint("desk", __name__, url_prefix="/agent")


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


@bp.app_template_global("sla_due")
def sla_due(ticket):
    """What the queue row and the ticket page say about the ticket's next SLA due time (None: nothing),
    as a dict of ``state`` (breached, at_risk, on_track, paused), ``text``, ``label`` and ``due_at``."""
    due = sla.due_state(ticket, utcnow(), sla.at_risk_window())
    if due is None:
        return None
    if due.state == sla.PAUSED:
        # The flag says "paused"; the text (a title in the queue) says why, without saying "paused" again.
        return {"state": due.state, "label": _("SLA paused"), "due_at": None,
                "text": _("The clock stops while the ticket waits on the customer and restarts when they reply.")}
    if due.state == sla.BREACHED:
        text = _("overdue %(time)s", time=format_timedelta(-due.remaining, threshold=1))
        label = _("SLA breached")
    else:
        text = _("in %(time)s", time=format_timedelta(due.remaining, threshold=1))
        label = _("SLA at risk") if due.state == sla.AT_RISK else ""
    what = _("First response due") if due.clock == sla.FIRST_RESPONSE else _("Resolution due")
    return {"state": due.state, "text": text, "label": label, "what": what, "due_at": due.due_at}


# The queue's GET parameters: the view, the filters (which combine) and the sort.
QUEUE_FILTERS = ("status", "priority", "department", "assignee", "server_ip", "reference")


def _queue_args():
    """The queue's parameters from the query string, empty values left out (the links stay short)."""
    args = {name: request.args.get(name, "") for name in ("view", *QUEUE_FILTERS, "sort")}
    return {name: value for name, value in args.items() if value}


def _agents():
    return db.session.scalars(
        sa.select(User).where(User.role.in_((ROLE_AGENT, ROLE_ADMIN)), User.active.is_(True))
        .order_by(User.full_name, User.email)
    ).all()


@bp.route("/")
def index():
    args = _queue_args()
    actor = current_user._get_current_object()
    filters = {name: args[name] for name in QUEUE_FILTERS if name in args}
    try:
        result = queue.page(actor, args.get("view", queue.OPEN_VIEW), sort=args.get("sort", queue.ACTIVITY),
                            after=request.args.get("after"), before=request.args.get("before"), **filters)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("desk.index"))
    counts = queue.cached_counts(actor)
    return render_template(
        "desk/index.html", page=result, args=args, counts=counts, views=queue.VIEWS, sorts=queue.SORTS,
        view=args.get("view", queue.OPEN_VIEW), sort=args.get("sort", queue.ACTIVITY),
        departments=queue.departments_for(actor, counts), all_departments=db.session.scalars(
            sa.select(Department).order_by(Department.name)).all(),
        agents=_agents(), statuses=STATUSES, open_statuses=queue.OPEN_STATUSES, priorities=PRIORITIES,
        no_value=queue.NONE, any_value=queue.ANY, closed_capped_at=queue.CLOSED_COUNT_CAP,
    )


def _bulk_summary(results):
    done = [r for r in results if r.outcome == BULK_DONE]
    refused = [r for r in results if r.outcome != BULK_DONE]
    if done:
        flash(ngettext("Changed %(num)d ticket: %(numbers)s.", "Changed %(num)d tickets: %(numbers)s.", len(done),
                       numbers=", ".join(f"#{r.number}" for r in done)), "success")
    if refused:
        flash(ngettext("Left %(num)d ticket unchanged: %(reasons)s", "Left %(num)d tickets unchanged: %(reasons)s",
                       len(refused), reasons="; ".join(f"#{r.number} ({r.reason})" for r in refused)), "error")


@bp.route("/bulk", methods=["POST"])
def bulk():
    """Apply one change to the tickets ticked in the queue, then go back to the same queue page."""
    if not PostForm().validate_on_submit():
        abort(400)
    changes = {}
    for name in ("status", "priority", "department", "assignee"):
        value = request.form.get(name, "")
        if value == queue.NONE and name in ("department", "assignee"):
            changes[name] = None
        elif value:
            changes[name] = value
    try:
        results = bulk_update(current_user._get_current_object(), request.form.getlist("ticket"),
                             close=request.form.get("close") == "1", **changes)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        _bulk_summary(results)
        queue.forget_counts()  # the agent comes back to the queue: show the numbers their change made
    back = request.form.get("back", "")
    if not back.startswith("/agent/") or back.startswith("//"):
        back = url_for("desk.index")
    return redirect(back)


@bp.route("/quarantine")
def quarantine_list():
    rows = quarantine.quarantined(current_user._get_current_object())
    return render_template("desk/quarantine.html", rows=rows, reason=quarantine.reason, step=reasons.step_label,
                           form=PostForm(),
                           open_form=OpenFromQuarantineForm())


@bp.route("/quarantine/<id:inbound_id>/raw")
def quarantine_raw(inbound_id):
    data = quarantine.raw_bytes(current_user._get_current_object(), inbound_id)
    # Served as a download of an opaque type: the bytes are untrusted and must never render here.
    return Response(data, mimetype="application/octet-stream", headers={
        "Content-Disposition": content_disposition(f"message-{inbound_id}.eml")})


@bp.route("/quarantine/<id:inbound_id>/retry", methods=["POST"])
def quarantine_retry(inbound_id):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        outcome = quarantine.retry(current_user._get_current_object(), inbound_id)
    except Conflict as exc:  # retried already (a second click, another agent): nothing is run twice
        flash(exc.message, "error")
        return redirect(url_for("desk.quarantine_list"))
    if outcome.outcome == "quarantined":
        flash(_("The message is still in quarantine: %(reason)s", reason=outcome.reason.splitlines()[0]), "error")
    elif outcome.ticket_number:
        flash(_("Done: ticket #%(number)s.", number=outcome.ticket_number), "success")
    else:
        flash(_("Done: %(outcome)s.", outcome=reasons.outcome_label(outcome.outcome)), "success")
    return redirect(url_for("desk.quarantine_list"))


@bp.route("/quarantine/<id:inbound_id>/ticket", methods=["POST"])
def quarantine_open_ticket(inbound_id):
    form = OpenFromQuarantineForm()
    if form.validate_on_submit():
        try:
            number = quarantine.open_ticket_by_hand(current_user._get_current_object(), inbound_id,
                                                    requester_email=form.requester_email.data,
                                                    subject=form.subject.data or None)
        except ValidationFailed as exc:
            for message in exc.errors.values():
                flash(message, "error")
        except Conflict as exc:
            flash(exc.message, "error")
        else:
            flash(_("Ticket #%(number)s opened from the message.", number=number), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("desk.quarantine_list"))
