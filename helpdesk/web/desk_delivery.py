"""Delivery diagnostics in the staff console: the servers an inbound message passed through, with the delay of
each hop, read on demand from its stored raw mail. Whoever may see the ticket may see this; nobody else."""
from datetime import timedelta

from babel.units import format_unit
from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from flask_login import current_user, login_required

from helpdesk.inbound import delivery

bp = Blueprint("desk_delivery", __name__, url_prefix="/agent")


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


@bp.route("/messages/<id:message_id>/delivery")
def show(message_id):
    found = delivery.for_message(current_user._get_current_object(), message_id)
    return render_template("desk/delivery.html", delivery=found, route=found.route, duration=duration)


_UNITS = (("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60), ("duration-second", 1))


def duration(delta: timedelta | None) -> str:
    """A delay to the second in the reader's language ("1 hr 2 min 5 sec"); negative when clocks disagree."""
    if delta is None:
        return "—"
    seconds = round(delta.total_seconds())
    left, parts = abs(seconds), []
    for unit, size in _UNITS:
        amount, left = divmod(left, size)
        if amount or (unit == "duration-second" and not parts):
            parts.append(format_unit(amount, unit, length="short", locale=str(get_locale() or "en")))
    return ("−" if seconds < 0 else "") + " ".join(parts)
