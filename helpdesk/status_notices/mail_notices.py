"""Status notices as email (the email channel's composers for "status_notice.*" notices, see notify/channels.py):
one mail per recipient, written in their language with times in their time zone, from the desk's address, marked
automatic. Which customers hear about a notice is decided in tasks.py."""
from email.utils import formataddr
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_datetime
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk.i18n import format_datetime, valid_timezone
from helpdesk.notify import channels
from helpdesk.notify.service import new_message_id, queue_email
from helpdesk.status_notices.display import affected_products, notice_text, update_text
from helpdesk.status_notices.models import (
    KIND_LABELS,
    MAIL_EVENTS,
    MAIL_PUBLISHED,
    MAIL_RESOLVED,
    SEVERITY_LABELS,
    STATUS_LABELS,
)
from helpdesk.timezones import zone_label


def moment_in(value, locale: str, zone: str) -> str:
    """``value`` (aware UTC) as the recipient reads it: in their zone and calendar, the zone named."""
    if value is None:
        return ""
    tz = ZoneInfo(zone)
    if locale.startswith("fa"):
        text = format_datetime(value, locale=locale, tzinfo=tz)
    else:
        text = babel_datetime(value, "medium", tzinfo=tz, locale=locale)
    return f"{text} ({zone_label(zone, locale)})"


def _zone(notice, recipient) -> str:
    zone = (notice.about.get("timezones") or {}).get(recipient.user_id)
    if zone and valid_timezone(zone):
        return zone
    return current_app.config.get("DEFAULT_TIMEZONE", "UTC")


def _subject(event, notice, title):
    kind = KIND_LABELS[notice.kind]
    if event == MAIL_PUBLISHED:
        return _("%(kind)s: %(title)s", kind=kind, title=title)
    if event == MAIL_RESOLVED:
        return _("Resolved: %(title)s", title=title)
    return _("Update: %(title)s", title=title)


def _compose(event):
    def compose(notice, recipients, batch):
        row, update = notice.about["notice"], notice.about.get("update")
        config = current_app.config
        sender = formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"]))
        base = config["BASE_URL"].rstrip("/")
        for recipient in recipients:
            locale = recipient.locale or config.get("DEFAULT_LOCALE", "en")
            zone = _zone(notice, recipient)
            with force_locale(locale):
                title, text = notice_text(row, locale)
                context = {
                    "event": event, "notice": row, "title": title, "text": text,
                    "update_text": update_text(update, locale) if update is not None else "",
                    "kind": KIND_LABELS[row.kind], "severity": SEVERITY_LABELS[row.severity],
                    "status": STATUS_LABELS[row.status], "products": affected_products(row, locale),
                    "starts_at": moment_in(row.starts_at, locale, zone),
                    "ends_at": moment_in(row.ends_at, locale, zone),
                    "resolved_at": moment_in(row.resolved_at, locale, zone),
                    "recipient_name": recipient.name, "brand": config["BRAND_NAME"],
                    "status_link": f"{base}/status/{row.id}",
                    "preferences_link": f"{base}/status/mail-preferences",
                }
                body_text = render_template("status_notices/mail/notice.txt", **context)
                body_html = render_template("status_notices/mail/notice.html", **context)
                subject = _subject(event, row, title)
            queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name, subject=subject,
                        body_text=body_text, body_html=body_html,
                        headers={"Auto-Submitted": "auto-generated"}, message_id=new_message_id("status"))

    return compose


def register():
    """Tell the email channel how to write each kind of status notice."""
    for event in MAIL_EVENTS:
        channels.email.compose(f"status_notice.{event}", _compose(event))
