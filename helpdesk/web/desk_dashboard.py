"""The staff dashboard: open tickets by department and priority (a table and a bar chart drawn as SVG on the
server, no JavaScript), and the median first-response time and SLA breaches of the last 7 and 30 days.
Agents see the figures of the tickets they may see (their departments, tickets without one and their own);
admins see everything. The figures come from tickets/reports.py."""
from flask import Blueprint, abort, render_template
from flask_babel import format_timedelta
from flask_login import current_user, login_required

from helpdesk.tickets import reports
from helpdesk.tickets.models import PRIORITIES

bp = Blueprint("desk_dashboard", __name__, url_prefix="/agent")

PERIODS = (7, 30)
# Chart geometry, in SVG user units.
LABEL_WIDTH, BAR_WIDTH, ROW_HEIGHT, BAR_HEIGHT = 170, 420, 30, 20
# Most urgent first, left to right in each bar.
STACK_ORDER = ("urgent", "high", "normal", "low")


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


def _chart(rows):
    """Bars (one per department, stacked by priority) with their segments' positions."""
    largest = max((row.total for row in rows), default=0) or 1
    bars = []
    for index, row in enumerate(rows):
        x, segments = LABEL_WIDTH, []
        for priority in STACK_ORDER:
            n = row.by_priority.get(priority, 0)
            if n:
                width = max(1, round(BAR_WIDTH * n / largest))
                segments.append({"priority": priority, "n": n, "x": x, "width": width})
                x += width
        bars.append({"row": row, "y": index * ROW_HEIGHT, "segments": segments, "end": x})
    return {"bars": bars, "width": LABEL_WIDTH + BAR_WIDTH + 40, "height": max(1, len(rows)) * ROW_HEIGHT,
            "bar_height": BAR_HEIGHT}


@bp.route("/dashboard")
def dashboard():
    actor = current_user._get_current_object()
    rows = reports.open_by_department_and_priority(actor)
    periods = [reports.period_figures(actor, days) for days in PERIODS]
    return render_template("desk/dashboard.html", rows=rows, chart=_chart(rows), periods=periods,
                           priorities=PRIORITIES, stack_order=STACK_ORDER,
                           duration=lambda d: format_timedelta(d, threshold=1))
