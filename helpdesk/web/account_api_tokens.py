"""Personal API tokens in the profile (issue 20), for customers and staff alike: the list, a form that creates
one (shown once, on the page that answers the form, never again), and revoking one after a confirmation.

Each create form carries a key that the browser's session spends when the form is sent: reloading the page that
shows a new token sends the form again, and that must not make (and show) a second token."""

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.accounts import api_tokens
from helpdesk.db import utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web import form_keys
from helpdesk.web.account import form_rate_limit
from helpdesk.web.forms import PostForm, apply_errors

bp = Blueprint("account_api_tokens", __name__, url_prefix="/profile/api-tokens")

# What a customer's token may sensibly be for; the staff-only scopes (customers, KB editing, recording payments,
# changing devices) are offered to staff only. Each service still checks the person behind the token.
CUSTOMER_SCOPES = ("tickets:read", "tickets:write", "kb:read", "billing:read", "devices:read", "webhooks:manage")
EXPIRY_DAYS = ("30", "90", "365")
FORM_KEYS = "api_token_form_keys"  # session: the keys of the create forms given out and not sent yet


class ScopesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        if set(self.data or ()) - {choice.value for choice in self.iter_choices()}:
            raise ValidationError(_l("Choose among the scopes listed."))


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=api_tokens.MAX_NAME)],
                       description=_l("What uses the token, for example “Monitoring” or “CRM sync”."))
    scopes = ScopesField(_l("What the token may do"), choices=[])
    expires_in_days = SelectField(_l("Expires"), choices=[
        SelectChoice("", _l("Never")),
        SelectChoice("30", _l("In 30 days")),
        SelectChoice("90", _l("In 90 days")),
        SelectChoice("365", _l("In a year")),
    ], default="90")
    form_key = HiddenField()


def offered_scopes(user) -> list[str]:
    return list(api_tokens.SCOPES) if user.is_agent else [s for s in api_tokens.SCOPES if s in CUSTOMER_SCOPES]


def _no_store(response):
    # The page can carry a token that is shown once: neither a cache nor the back button may keep it.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _form(user, *, blank=False):
    form = TokenForm(formdata=None) if blank else TokenForm()
    form.scopes.choices = [SelectChoice(scope, api_tokens.SCOPES[scope]) for scope in offered_scopes(user)]
    return form


def _page(user, form, *, created=None, status=200):
    form_keys.give(form, FORM_KEYS)
    now = utcnow()
    rows = api_tokens.tokens_of(user)
    page = render_template("account/api_tokens.html", user=user, form=form, tokens=rows, created=created,
                           labels=api_tokens.SCOPES, now=now, prefix=api_tokens.PREFIX)
    return _no_store(make_response(page, status))


@bp.route("", methods=["GET"])
@login_required
def index():
    user = current_user._get_current_object()
    return _page(user, _form(user, blank=True))


@bp.route("", methods=["POST"])
@login_required
@limiter.limit(form_rate_limit)
def create():
    """Create a token and answer with it, once: the answer to this POST is the only page that shows it."""
    user = current_user._get_current_object()
    form = _form(user)
    if form.validate_on_submit():
        if not form_keys.spend(form, FORM_KEYS):
            flash(_("This form was sent already, and the token it created was shown then. A token is shown only "
                    "once: if you did not copy it, revoke it below and create a new one."), "warning")
            return _page(user, _form(user, blank=True), status=409)
        days = form.expires_in_days.data
        try:
            row, token = api_tokens.create_token(user, name=form.name.data, scopes=form.scopes.data,
                                                 expires_in_days=int(days) if days in EXPIRY_DAYS else None)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            return _page(user, _form(user, blank=True), created={"row": row, "token": token})
    return _page(user, form, status=400)


def _own_token(user, token_id):
    for row in api_tokens.tokens_of(user):
        if row.id == token_id:
            return row
    abort(404)  # someone else's token, or none


@bp.route("/<id:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke(token_id):
    """A page that asks before a token stops working; its form revokes it."""
    user = current_user._get_current_object()
    row = _own_token(user, token_id)
    form = PostForm()
    if form.validate_on_submit():
        api_tokens.revoke_token(user, token_id)
        flash(_("The token “%(name)s” was revoked: programs using it can no longer reach the API.", name=row.name),
              "info")
        return redirect(url_for("account_api_tokens.index"))
    if row.revoked_at is not None:
        return redirect(url_for("account_api_tokens.index"))
    return _no_store(make_response(render_template("account/api_tokens_revoke.html", token=row, form=form,
                                                   labels=api_tokens.SCOPES, prefix=api_tokens.PREFIX)))
