"""What pay-per-case tells people: the debt-ceiling warning ("devices.debt_ceiling") by email (rendered in each
recipient's language when it goes out) and by SMS (helpdesk.notify.sms), to the account's owners and members with
the billing permission; and the audit trail's sentences for cases and the price list. Registered on import
(devices.cases imports it through init_app)."""
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from helpdesk.accounts.identity_models import account_recipients
from helpdesk.accounts.models import PERM_BILLING
from helpdesk.audit.sentences import Ref, register, register_kind
from helpdesk.billing.money import format_amount
from helpdesk.devices.case_models import DebtCrossing, DeviceCase
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.notify import channels, sms
from helpdesk.notify.channels import Notice, notify
from helpdesk.notify.service import queue_email
from helpdesk.tickets.models import Ticket

NOTICE_KIND = "devices.debt_ceiling"


def warn_debt_ceiling(crossing: DebtCrossing) -> None:
    """Queue the warning about ``crossing`` to the account's owners and billing members. Never commits."""
    notify(Notice(NOTICE_KIND, account_recipients(crossing.account_id, PERM_BILLING),
                  {"crossing": crossing, "debt": crossing.debt, "ceiling": crossing.ceiling,
                   "currency": crossing.currency}, automatic=True))


def _url(path: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}{path}"


def _email(notice, recipients, batch):
    config = current_app.config
    sender = formataddr((config["BRAND_NAME"], config.get("BILLING_MAIL_FROM") or config["MAIL_DEFAULT_FROM"]))
    for recipient in recipients:
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name,
                    headers={"Auto-Submitted": "auto-generated"}, render_with=render_debt_ceiling,
                    render_args={"crossing": notice.about["crossing"].id, "locale": recipient.locale})


def render_debt_ceiling(row):
    """Write the warning queued by ``_email`` in its recipient's language (called by the delivery job)."""
    crossing = db.session.get(DebtCrossing, row.render_args["crossing"])
    config = current_app.config
    language = row.render_args.get("locale") or config["DEFAULT_LOCALE"]
    with force_locale(language):
        row.subject = _("Your unpaid service charges reached the limit")
        body = _("Hello %(name)s,\n\nthe unpaid charges for service cases on your devices are now %(debt)s, at or "
                 "above the limit of %(ceiling)s.\n\nNew tickets about your pay-per-case devices wait for our "
                 "approval until the debt is below the limit again. Your open invoices: %(invoices)s\n\nYour "
                 "devices: %(devices)s\n", name=row.recipient_name,
                 debt=format_amount(crossing.debt, crossing.currency, language),
                 ceiling=format_amount(crossing.ceiling, crossing.currency, language),
                 invoices=_url("/billing/invoices"), devices=_url("/devices"))
        row.body_text = body + f"\n-- \n{config['BRAND_NAME']}\n"
        row.body_html = None


def _sms(notice, recipient):
    return _("%(brand)s: your unpaid service charges are %(debt)s, at or above the limit of %(ceiling)s. New "
             "tickets wait for our approval until you pay: %(url)s",
             brand=current_app.config["BRAND_NAME"],
             debt=format_amount(notice.about["debt"], notice.about["currency"], recipient.locale),
             ceiling=format_amount(notice.about["ceiling"], notice.about["currency"], recipient.locale),
             url=_url("/billing/invoices"))


def sms_text(notice, recipient):
    """The SMS of a debt-ceiling warning, in the recipient's language (registered with notify.sms)."""
    with force_locale(recipient.locale or current_app.config["DEFAULT_LOCALE"]):
        return _sms(notice, recipient)


# --------------------------------------------------------------------------- the audit trail

def _cases(ids):
    rows = db.session.execute(sa.select(DeviceCase.id, Ticket.number).join(Ticket, Ticket.id == DeviceCase.ticket_id)
                              .where(DeviceCase.id.in_(ids)))
    return {i: Ref("device-case", i, f"#{number}", key=None) for i, number in rows}


def _price_lists(ids):
    return {}  # one price list per currency, named in the sentence


def _charged(reading):
    changes = reading.changes
    amount, currency = changes.get("amount"), changes.get("currency")
    money = format_amount(amount, currency, get_locale()) if isinstance(amount, int) and currency else ""
    return reading.sentence(_l("Charged the case of ticket %(ticket_ref)s: %(money)s."), money=money)


def register_all():
    channels.email.compose(NOTICE_KIND, _email)
    sms.compose(NOTICE_KIND, sms_text)
    register_kind("device-case", name=_l("Device case"), describe=_cases, placeholder="ticket_ref")
    register_kind("device-case-prices", name=_l("Case price list"), describe=_price_lists)
    register("device-case", "opened", _l("Opened the case of ticket %(ticket_ref)s on a device (%(state)s)."))
    register("device-case", "charged", _charged)
    register("device-case", "approved", _l("Approved the case of ticket %(ticket_ref)s above the debt ceiling."))
    register("device-case", "refused", _l("Refused the case of ticket %(ticket_ref)s above the debt ceiling: "
                                          "%(note)s"))
    register("device-case-prices", "prices-set", _l("Changed the case price list in %(currency)s."))


register_all()
