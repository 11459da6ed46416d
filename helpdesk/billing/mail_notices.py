"""Billing's notices as email (the email channel's composer for "billing.reminder"): a renewal invoice and the
reminders about it, one outbox row per recipient, rendered in the recipient's language when the mail goes out (so a
run that mails thousands renders nothing in its own transaction). Who is told what is decided in dunning.py."""
from email.utils import formataddr

import jdatetime
import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from helpdesk.billing.models import Invoice
from helpdesk.billing.money import format_amount
from helpdesk.billing.renewal_models import (
    REMINDER_BEFORE,
    REMINDER_DUE,
    REMINDER_INVOICE,
    REMINDER_OVERDUE_1,
    REMINDER_OVERDUE_2,
    REMINDER_OVERDUE_3,
)
from helpdesk.extensions import db
from helpdesk.notify import channels
from helpdesk.notify.service import queue_email

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _reminder(notice, recipients, batch):
    invoice, kind = notice.about["invoice"], notice.about["kind"]
    config = current_app.config
    sender = formataddr((config["BRAND_NAME"], config["BILLING_MAIL_FROM"] or config["MAIL_DEFAULT_FROM"]))
    for recipient in recipients:
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name,
                    headers={"Auto-Submitted": "auto-generated"}, render_with=render_outbox,
                    render_args={"invoice": invoice.id, "kind": kind, "locale": recipient.locale})


def _date(day, language) -> str:
    if language == "fa":
        return jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d").translate(_PERSIAN_DIGITS)
    return format_date(day, "medium")


def _subject(kind, invoice) -> str:
    name = invoice.name
    return {
        REMINDER_INVOICE: lambda: _("Your invoice %(name)s", name=name),
        REMINDER_BEFORE: lambda: _("Reminder: invoice %(name)s is due soon", name=name),
        REMINDER_DUE: lambda: _("Invoice %(name)s is due today", name=name),
        REMINDER_OVERDUE_1: lambda: _("Invoice %(name)s is overdue", name=name),
        REMINDER_OVERDUE_2: lambda: _("Second notice: invoice %(name)s is overdue", name=name),
        REMINDER_OVERDUE_3: lambda: _("Final notice: invoice %(name)s is overdue", name=name),
    }[kind]()


def render_outbox(row):
    """Write a billing mail queued by ``_reminder`` in its recipient's language (called by the delivery job)."""
    args = row.render_args
    invoice = db.session.get(Invoice, args["invoice"])
    config = current_app.config
    language = args.get("locale") or config["DEFAULT_LOCALE"]
    with force_locale(language):
        context = {"invoice": invoice, "kind": args["kind"], "recipient_name": row.recipient_name,
                   "brand": config["BRAND_NAME"], "due": _date(invoice.due_date, language),
                   "amount": format_amount(invoice.balance_due or invoice.total, invoice.currency, language),
                   "services": [line.description.split("\n")[0] for line in invoice.lines],
                   "url": f"{config['BASE_URL']}/billing/invoices/{invoice.id}",
                   "suspend_days": config["BILLING_SUSPEND_AFTER_DAYS"]}
        row.body_text = render_template("billing/mail/reminder.txt", **context)
        row.body_html = render_template("billing/mail/reminder.html", **context)
        row.subject = _subject(args["kind"], invoice)


def _prefetch(rows):
    ids = {row.render_args["invoice"] for row in rows}
    return db.session.scalars(sa.select(Invoice).where(Invoice.id.in_(ids))).all()


render_outbox.prefetch = _prefetch


def register():
    """Tell the email channel how to write billing's notices."""
    channels.email.compose("billing.reminder", _reminder)
