"""The staff console's entry (the full console arrives with the staff console issue)."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from helpdesk.extensions import db
from helpdesk.tickets import access
from helpdesk.tickets.models import CLOSED, Ticket

bp = Blueprint("desk", __name__, url_prefix="/agent")


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


@bp.route("/")
def index():
    tickets = db.session.scalars(
        access.visible_tickets(current_user).where(Ticket.status != CLOSED)
        .order_by(Ticket.last_activity_at.desc()).limit(50)
    ).all()
    return render_template("desk/index.html", tickets=tickets)
