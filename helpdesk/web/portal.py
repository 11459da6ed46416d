"""The customer-facing start page: a search of the knowledge base, its latest news, and the customer's tickets."""
from flask import Blueprint, render_template
from flask_login import current_user

from helpdesk.extensions import db
from helpdesk.kb import service as kb
from helpdesk.tickets import access
from helpdesk.tickets.models import Ticket

bp = Blueprint("portal", __name__)


@bp.route("/")
def index():
    tickets = []
    if current_user.is_authenticated and current_user.is_customer:
        tickets = db.session.scalars(
            access.visible_tickets(current_user).order_by(Ticket.last_activity_at.desc()).limit(5)
        ).all()
    reader = current_user._get_current_object() if current_user.is_authenticated else None
    return render_template("portal/index.html", tickets=tickets, news=kb.latest_news(reader))
