"""The page behind a guest link (tickets/guest_links.py): one ticket, its thread and a reply form, for a requester
or copied person without an account; no login, the signed link stands for them and shows nothing else. Pages
are private: no Referer leaves them (the link is in the URL), search engines are told not to index them, nothing
is cached. Also the console's button that revokes a ticket's guest links."""
import re

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from helpdesk import storage
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.tickets import access, guest_access, guest_links
from helpdesk.tickets.models import INTERNAL_NOTE
from helpdesk.web.downloads import content_disposition
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.thread import thread_items
from helpdesk.web.ticket_forms import ReplyForm
from helpdesk.web.tickets import INLINE_SAFE_TYPES

bp = Blueprint("guest_ticket", __name__, url_prefix=guest_links.GUEST_PATH.rstrip("/"))
desk_bp = Blueprint("desk_guest_links", __name__, url_prefix="/agent")

_INLINE_IMAGE = re.compile(r'src="/attachments/(\d+)"')


def _link_rate_limit():
    return current_app.config["GUEST_LINK_RATE_LIMIT"]


def _reply_rate_limit():
    return current_app.config["GUEST_REPLY_RATE_LIMIT"]


def _new_link_rate_limit():
    return current_app.config["GUEST_NEW_LINK_RATE_LIMIT"]


@bp.after_request
def _private(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _unavailable(exc, token):
    status = 404 if exc.reason == guest_links.INVALID else 410
    return render_template("guest_ticket/unavailable.html", reason=exc.reason, token=token,
                           form=PostForm(formdata=None), days=current_app.config["GUEST_LINK_DAYS"]), status


def _thread(ticket, token):
    """The public thread, inline images pointing at this link's downloads (the portal's need a login)."""
    items = thread_items(ticket.public_messages)
    prefix = url_for("guest_ticket.attachment", token=token, attachment_id=0).rsplit("/", 1)[0]
    for item in items:
        if item.get("body") is not None and "/attachments/" in item["body"]:
            item["body"] = Markup(_INLINE_IMAGE.sub(lambda m: f'src="{prefix}/{m.group(1)}"', str(item["body"])))  # noqa: S704
    return items


def _render(visit, token, status=200, form=None):
    merged_into, merged_link = guest_links.link_for_merged(visit) if visit.ticket.merged_into_id else (None, None)
    return render_template("guest_ticket/show.html", ticket=visit.ticket, visit=visit, token=token,
                           thread=_thread(visit.ticket, token), reply_form=form or ReplyForm(formdata=None),
                           merged_into=merged_into, merged_link=merged_link), status


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(_link_rate_limit, methods=["GET"])
@limiter.limit(_reply_rate_limit, methods=["POST"])
def show(token):
    try:
        visit = guest_links.read_link(token)
    except guest_links.GuestLinkInvalid as exc:
        return _unavailable(exc, token)
    form = ReplyForm()
    if not form.is_submitted():
        return _render(visit, token)
    if form.validate_on_submit():
        try:
            guest_access.reply(visit, body_text=form.body.data, attachments=form.reply_attachments.uploads)
        except guest_access.TicketMerged as exc:
            flash(exc.message, "error")
            return redirect(url_for("guest_ticket.show", token=token))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"body": "body", "attachments": "reply_attachments"})
        else:
            flash(_("Your reply was added."), "success")
            return redirect(url_for("guest_ticket.show", token=token))
    return _render(visit, token, 400, form)


@bp.route("/<token>/new-link", methods=["POST"])
@limiter.limit(_new_link_rate_limit)
def new_link(token):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        guest_access.mail_new_link(token, str(get_locale()))
    except guest_links.GuestLinkInvalid as exc:
        return _unavailable(exc, token)
    return render_template("guest_ticket/link_sent.html"), 200


@bp.route("/<token>/attachments/<id:attachment_id>")
@limiter.limit(_link_rate_limit)
def attachment(token, attachment_id):
    try:
        visit = guest_links.read_link(token)
    except guest_links.GuestLinkInvalid:
        abort(404)
    found = access.get_attachment(guest_links.GUEST_LINK, attachment_id)
    message = found.message
    if found.ticket_id != visit.ticket.id or message is None or message.kind == INTERNAL_NOTE:
        abort(404)
    content_type = found.content_type.split(";")[0].strip().lower()
    if content_type not in INLINE_SAFE_TYPES:
        content_type = "application/octet-stream"
    try:
        data = storage.open(found.sha256)
    except (OSError, ValueError):
        abort(404)
    response = Response(data, mimetype=content_type)
    response.content_length = data.size
    response.headers["Content-Disposition"] = content_disposition(found.filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --------------------------------------------------------------------------- the console's revoke button

@desk_bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


@desk_bp.route("/tickets/<id:number>/guest-links/revoke", methods=["POST"])
def revoke(number):
    actor = current_user._get_current_object()
    ticket = access.get_ticket(actor, number)
    if not PostForm().validate_on_submit():
        abort(400)
    guest_links.revoke(actor, ticket)
    flash(_("Every guest link to this ticket was revoked. The next email to its guests brings a new link."),
          "success")
    return redirect(url_for("desk_tickets.show", number=ticket.number) + "#guest-links")


@desk_bp.app_context_processor
def _guest_link_state():
    def guest_link_state(ticket):
        """For the console's ticket page: the ticket's guests and when its links were last revoked."""
        guests = [p for p in ticket.participants if guest_links.is_guest(p)]
        return {"guests": guests, "revoked_at": guest_links.revoked_at(ticket),
                "days": current_app.config["GUEST_LINK_DAYS"]}
    return {"guest_link_state": guest_link_state}
