"""What part C tells people: the new owner's code and link by SMS, the decision on a transfer by email (to the
members of both accounts) and SMS, and the audit trail's sentences for installation confirmations and transfers.
Registered on import (helpdesk.devices.init_app)."""
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk.audit.sentences import Ref, register, register_kind
from helpdesk.devices.transfer_models import APPROVED, DeviceTransfer
from helpdesk.extensions import db
from helpdesk.i18n import format_datetime
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.notify import channels, sms
from helpdesk.notify.service import queue_email


def _device_words(transfer) -> str:
    device = transfer.device
    ident = device.serial_number or device.dongle_id
    return f"{device.device_type.label} ({ident})" if ident else device.device_type.label


def _code_text(notice, recipient):
    transfer = notice.about["transfer"]
    return _("%(brand)s: %(owner)s is transferring the device %(device)s to you. To accept, open %(link)s or enter "
             "the code %(code)s with your national ID at %(page)s. Valid until %(until)s.",
             brand=current_app.config["BRAND_NAME"], owner=transfer.from_account.name,
             device=_device_words(transfer), link=notice.about["link"], code=notice.about["code"],
             page=notice.about["code_page"], until=format_datetime(transfer.code_expires_at))


def _decision_text(notice, recipient):
    transfer = notice.about["transfer"]
    if transfer.status == APPROVED:
        return _("%(brand)s: the transfer of the device %(device)s to %(name)s is approved.",
                 brand=current_app.config["BRAND_NAME"], device=_device_words(transfer), name=transfer.new_owner_name)
    return _("%(brand)s: the transfer of the device %(device)s to %(name)s was refused: %(reason)s",
             brand=current_app.config["BRAND_NAME"], device=_device_words(transfer), name=transfer.new_owner_name,
             reason=transfer.reason)


def _decision_mail(notice, recipients, batch):
    config = current_app.config
    sender = formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"]))
    for recipient in recipients:
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name,
                    headers={"Auto-Submitted": "auto-generated"}, render_with=render_decision,
                    render_args={"transfer": notice.about["transfer"].id, "locale": recipient.locale})


def render_decision(row):
    """Write a transfer decision's mail in its recipient's language (called by the delivery job)."""
    transfer = db.session.get(DeviceTransfer, row.render_args["transfer"])
    config = current_app.config
    url = f"{config['BASE_URL'].rstrip('/')}/devices/{transfer.device_id}"
    with force_locale(row.render_args.get("locale") or config["DEFAULT_LOCALE"]):
        device = _device_words(transfer)
        if transfer.status == APPROVED:
            row.subject = _("Device transfer approved: %(device)s", device=device)
            body = _("Hello %(name)s,\n\nthe transfer of the device %(device)s from %(old)s to %(new)s is approved. "
                     "The device, its contracts and its history now belong to %(new)s.\n\n%(url)s\n",
                     name=row.recipient_name, device=device, old=transfer.from_account.name,
                     new=transfer.new_owner_name, url=url)
        else:
            row.subject = _("Device transfer refused: %(device)s", device=device)
            body = _("Hello %(name)s,\n\nthe transfer of the device %(device)s to %(new)s was refused:\n\n%(reason)s\n"
                     "\nThe device stays with %(old)s.\n", name=row.recipient_name, device=device,
                     new=transfer.new_owner_name, reason=transfer.reason, old=transfer.from_account.name)
        row.body_text = body + f"\n-- \n{config['BRAND_NAME']}\n"
        row.body_html = None


sms.compose("devices.transfer_code", _code_text)
sms.compose("devices.transfer_approved", _decision_text)
sms.compose("devices.transfer_refused", _decision_text)
channels.email.compose("devices.transfer_approved", _decision_mail)
channels.email.compose("devices.transfer_refused", _decision_mail)


def _transfers(ids):
    rows = db.session.execute(sa.select(DeviceTransfer.id, DeviceTransfer.new_owner_name)
                              .where(DeviceTransfer.id.in_(ids)))
    return {i: Ref("device-transfer", i, f"#{i} → {name}", key=i) for i, name in rows}


register_kind("device-transfer", name=_l("Device transfer"), describe=_transfers)
register("device-transfer", "requested", _l("Requested the transfer %(name)s of %(device)s to %(new_owner)s (national "
                                            "ID %(national_id)s)."), refs={"device": "device"})
register("device-transfer", "code-sent", _l("Sent the new owner's code for the transfer %(name)s to %(phone)s."))
register("device-transfer", "code-void", _l("The code of the transfer %(name)s is void after %(attempts)s wrong "
                                            "tries."))
register("device-transfer", "confirmed", _l("The new owner confirmed the transfer %(name)s (by %(by)s)."))
register("device-transfer", "cancelled", _l("Cancelled the transfer %(name)s of %(device)s."),
         refs={"device": "device"})
register("device-transfer", "approved", _l("Approved the transfer %(name)s of %(device)s."), refs={"device": "device"})
register("device-transfer", "refused", _l("Refused the transfer %(name)s of %(device)s: %(reason)s"),
         refs={"device": "device"})
register("device", "installation-confirmed", _l("Signed the installation confirmation of %(name)s (installed on "
                                                "%(installed_on)s)."))
register("device", "installation-note-added", _l("Counter-signed a note on the installation confirmation of "
                                                 "%(name)s: %(note)s"))
register("device", "transferred", _l("Moved %(name)s to another customer account (transfer %(transfer)s)."))
