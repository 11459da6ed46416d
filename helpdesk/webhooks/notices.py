"""The notice an endpoint's owner gets when the helpdesk disables it: "webhooks.endpoint_disabled", by email through
the notify channels, written in the recipient's language when the mail goes out. The owner is the login that
created the endpoint (the account's owners when that login is gone); for a desk-wide endpoint, every active admin."""
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk.accounts.models import ROLE_ADMIN, Membership, User
from helpdesk.extensions import db
from helpdesk.notify import channels
from helpdesk.notify.channels import Notice, Recipient
from helpdesk.notify.service import queue_email
from helpdesk.webhooks.models import WebhookEndpoint

ENDPOINT_DISABLED = "webhooks.endpoint_disabled"


def owners_of(endpoint: WebhookEndpoint) -> list[User]:
    """Who hears about the endpoint: its creator, else the account's owners; the admins for a desk-wide one."""
    if endpoint.account_id is None:
        return list(db.session.scalars(sa.select(User).where(User.role == ROLE_ADMIN, User.active.is_(True))
                                       .order_by(User.id)))
    creator = endpoint.created_by
    if creator is not None and creator.active and db.session.scalar(
            sa.select(Membership.id).where(Membership.account_id == endpoint.account_id,
                                           Membership.user_id == creator.id)):
        return [creator]
    return list(db.session.scalars(sa.select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.account_id == endpoint.account_id, Membership.is_owner.is_(True), User.active.is_(True))
        .order_by(User.id)))


def endpoint_disabled(endpoint: WebhookEndpoint) -> None:
    """Tell the endpoint's owners it was disabled (queued in the caller's transaction)."""
    recipients = tuple(Recipient(email=user.email, name=user.full_name or "", locale=user.locale, user_id=user.id,
                                 is_agent=user.is_agent) for user in owners_of(endpoint))
    if recipients:
        channels.notify(Notice(ENDPOINT_DISABLED, recipients, {"endpoint": endpoint}, automatic=True))


def _disabled_mail(notice, recipients, batch):
    config = current_app.config
    sender = formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"]))
    for recipient in recipients:
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name,
                    headers={"Auto-Submitted": "auto-generated"}, render_with=render_disabled,
                    render_args={"endpoint": notice.about["endpoint"].id, "locale": recipient.locale,
                                 "staff": recipient.is_agent})


def endpoint_page(endpoint_id: int, staff: bool) -> str:
    """Where the owner finds the endpoint: the console for staff, the portal for customers."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/agent/admin/webhooks/{endpoint_id}" if staff else f"{base}/account/webhooks/{endpoint_id}"


def render_disabled(row):
    """Write the notice in its recipient's language (called by the mail delivery job)."""
    args, config = row.render_args, current_app.config
    endpoint = db.session.get(WebhookEndpoint, args["endpoint"])
    with force_locale(args.get("locale") or config["DEFAULT_LOCALE"]):
        context = {"recipient_name": row.recipient_name, "brand": config["BRAND_NAME"],
                   "url": endpoint.url if endpoint else "", "description": endpoint.description if endpoint else "",
                   "reason": endpoint.disabled_reason_label if endpoint else "",
                   "link": endpoint_page(args["endpoint"], bool(args.get("staff")))}
        row.subject = _("Webhook endpoint disabled: %(url)s", url=context["url"])
        row.body_text = render_template("webhooks/mail/endpoint_disabled.txt", **context)
        row.body_html = render_template("webhooks/mail/endpoint_disabled.html", **context)


def register() -> None:
    channels.email.compose(ENDPOINT_DISABLED, _disabled_mail)
