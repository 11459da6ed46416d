"""The devices' contract notices (B1): "devices.contract_expiring" by email (one outbox row per recipient, written in
the recipient's language when the mail goes out) and by SMS (the text registered with the SMS channel)."""
from datetime import date
from email.utils import formataddr

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk.devices.models import Device
from helpdesk.extensions import db
from helpdesk.i18n import format_day
from helpdesk.notify import channels, sms
from helpdesk.notify.service import queue_email

CONTRACT_EXPIRING = "devices.contract_expiring"


def device_url(device_id) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/devices/{device_id}"


def _device_name(device) -> str:
    identifier = device.serial_number or device.dongle_id
    return f"{device.device_type.label} ({identifier})" if identifier else device.device_type.label


def _expiring(notice, recipients, batch):
    device, config = notice.about["device"], current_app.config
    sender = formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"]))
    for recipient in recipients:
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name,
                    headers={"Auto-Submitted": "auto-generated"}, render_with=render_expiring,
                    render_args={"device": device.id, "ends_on": notice.about["ends_on"].isoformat(),
                                 "days": notice.about["days"], "locale": recipient.locale})


def render_expiring(row):
    """Write a contract reminder queued by ``_expiring`` in its recipient's language (the delivery job)."""
    args, config = row.render_args, current_app.config
    device = db.session.get(Device, args["device"])
    language = args.get("locale") or config["DEFAULT_LOCALE"]
    with force_locale(language):
        context = {"device": _device_name(device), "days": args["days"], "brand": config["BRAND_NAME"],
                   "ends_on": format_day(date.fromisoformat(args["ends_on"]), language),
                   "recipient_name": row.recipient_name, "url": device_url(device.id)}
        row.subject = (_("The service contract of %(device)s ends today", device=context["device"])
                       if args["days"] <= 0 else
                       _("The service contract of %(device)s ends in %(num)d days", device=context["device"],
                         num=args["days"]))
        row.body_text = render_template("devices/mail/contract_expiring.txt", **context)
        row.body_html = render_template("devices/mail/contract_expiring.html", **context)


def _expiring_sms(notice, recipient) -> str:
    device = notice.about["device"]
    return _("%(brand)s: the service contract of %(device)s ends on %(day)s. Renew it or choose pay-per-case: "
             "%(url)s", brand=current_app.config["BRAND_NAME"], device=_device_name(device),
             day=format_day(notice.about["ends_on"], recipient.locale), url=device_url(device.id))


def register():
    """Tell the email and SMS channels how to word the contract notices."""
    channels.email.compose(CONTRACT_EXPIRING, _expiring)
    sms.compose(CONTRACT_EXPIRING, _expiring_sms)
