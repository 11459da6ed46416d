"""The public rating page behind the links in the closing mail: no login, the signed link stands for the
requester. Opening the link only shows the choice (mail scanners open links); saving needs the form's POST."""
from flask import Blueprint, render_template
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import Length

from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import satisfaction
from helpdesk.web.forms import apply_errors

bp = Blueprint("satisfaction", __name__)


class RatingForm(FlaskForm):
    rating = RadioField(_l("Your rating"), choices=lambda: [(k, str(v)) for k, v in satisfaction.RATINGS.items()],
                        validate_choice=False)
    comment = TextAreaField(_l("Comment (optional)"), validators=[
        Length(max=satisfaction.COMMENT_MAX, message=_l("Use at most %(max)d characters."))])


@bp.app_context_processor
def _satisfaction_helpers():
    # The dashboard includes desk/_satisfaction_panel.html, which asks for its own figures.
    return {"satisfaction_summary": satisfaction.summary}


def _invalid(exc):
    return render_template("satisfaction/invalid.html", expired=exc.expired), 410 if exc.expired else 404


@bp.route("/satisfaction/<token>", methods=["GET", "POST"])
def rate(token):
    try:
        ticket, offered = satisfaction.read_link(token)
    except satisfaction.RatingLinkInvalid as exc:
        return _invalid(exc)
    current = satisfaction.rating_of(ticket)
    form = RatingForm(rating=offered, comment=current.comment if current else "")
    if form.validate_on_submit():
        try:
            satisfaction.rate_ticket(ticket, form.rating.data, form.comment.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            return render_template("satisfaction/thanks.html", ticket=ticket, rating=satisfaction.rating_of(ticket),
                                   token=token)
    return render_template("satisfaction/rate.html", ticket=ticket, form=form, current=current,
                           token=token), 400 if form.errors else 200
