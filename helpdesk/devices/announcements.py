"""Announcements from staff to all customers or to the owners of a device type (issue 19): a portal banner, an
email and an SMS through the notice channels. Publishing writes the announcement and queues one job after the
commit that walks the audience's accounts in chunks (ANNOUNCEMENTS_CHUNK), each account told once: its delivery
row is unique and is written in the same transaction as its email and SMS outbox rows, so a job run twice (or
killed halfway) tells nobody twice. The banner shows on every portal page of the audience's logins until its
end day, until withdrawn, or until the login dismisses it.

Publishing and withdrawing are for admins and billing staff (the people who look after what customers bought);
every agent reads the console's list."""
from dataclasses import replace
from datetime import date
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from helpdesk import audit
from helpdesk.accounts.identity_models import account_recipients
from helpdesk.accounts.models import PERM_SERVICES, CustomerAccount, Membership
from helpdesk.audit.sentences import Ref, register_kind
from helpdesk.audit.sentences import register as sentence
from helpdesk.billing.access import is_billing_staff
from helpdesk.billing.catalogue_models import text_in
from helpdesk.db import begin_write, commit_service_call, parse_id, utcnow
from helpdesk.devices.announcement_models import (
    AUDIENCE_ALL,
    AUDIENCE_DEVICE_TYPE,
    AUDIENCES,
    CHANNEL_BANNER,
    CHANNEL_EMAIL,
    CHANNEL_SMS,
    CHANNELS,
    KIND_LABELS,
    KINDS,
    Announcement,
    AnnouncementDelivery,
    AnnouncementDismissal,
)
from helpdesk.devices.models import Device, DeviceType
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.jobs import enqueue_after_commit
from helpdesk.notify import channels, sms
from helpdesk.notify.channels import Notice, notify
from helpdesk.notify.service import new_message_id, queue_email

NOTICE_KIND = "devices.announcement"
TITLE_MAX, TEXT_MAX = 200, 5000


# --------------------------------------------------------------------------- who may

def may_publish(actor) -> bool:
    return bool(getattr(actor, "is_system", False) or is_billing_staff(actor))


def _require_staff(actor):
    if not (getattr(actor, "is_system", False) or getattr(actor, "is_agent", False)):
        raise NotFound()


def _require_publisher(actor):
    _require_staff(actor)
    if not may_publish(actor):
        raise NotAllowed()


# --------------------------------------------------------------------------- reading

def language_of(locale) -> str:
    return str(locale or current_app.config.get("DEFAULT_LOCALE", "en")).split("_")[0]


def announcement_text(announcement, locale) -> tuple[str, str]:
    """(title, text) in ``locale``'s language, else the desk's default language, else any written."""
    language, default = language_of(locale), current_app.config.get("DEFAULT_LOCALE", "en")
    return (text_in(announcement.texts, language, default, "title"),
            text_in(announcement.texts, language, default, "text"))


def get_announcement(actor, announcement_id) -> Announcement:
    """An announcement for the console (agents and the system); NotFound for anyone else or an unknown id."""
    _require_staff(actor)
    announcement_id = parse_id(announcement_id)
    announcement = db.session.get(Announcement, announcement_id) if announcement_id else None
    if announcement is None:
        raise NotFound()
    return announcement


def console_announcements(actor, *, limit=200) -> list[Announcement]:
    _require_staff(actor)
    return db.session.scalars(sa.select(Announcement).order_by(Announcement.published_at.desc(),
                                                               Announcement.id.desc()).limit(limit)).all()


def device_type_choices() -> list[tuple[int, str]]:
    return [(t.id, t.label) for t in db.session.scalars(sa.select(DeviceType).order_by(DeviceType.brand,
                                                                                        DeviceType.model))]


def _audience_accounts():
    """A select of the ids of the accounts an announcement reaches (correlated on Announcement)."""
    owns_type = sa.exists().where(Device.account_id == CustomerAccount.id,
                                  Device.device_type_id == Announcement.device_type_id)
    return sa.or_(Announcement.audience == AUDIENCE_ALL,
                  sa.and_(Announcement.audience == AUDIENCE_DEVICE_TYPE, owns_type))


def banners_for(user, today: date) -> list[Announcement]:
    """The current banner announcements for a customer login: those for all customers, and those for a device
    type one of their accounts owns; not withdrawn, not past their end day, not dismissed by them."""
    if user is None or not getattr(user, "is_customer", False) or getattr(user, "id", None) is None:
        return []
    mine = sa.select(Membership.account_id).where(Membership.user_id == user.id)
    owns_type = sa.exists().where(Device.account_id.in_(mine), Device.device_type_id == Announcement.device_type_id)
    dismissed = sa.exists().where(AnnouncementDismissal.announcement_id == Announcement.id,
                                  AnnouncementDismissal.user_id == user.id)
    rows = db.session.scalars(
        sa.select(Announcement)
        .where(Announcement.withdrawn_at.is_(None),
               sa.or_(Announcement.ends_on.is_(None), Announcement.ends_on >= today),
               sa.or_(Announcement.audience == AUDIENCE_ALL,
                      sa.and_(Announcement.audience == AUDIENCE_DEVICE_TYPE, owns_type)),
               ~dismissed)
        .order_by(Announcement.published_at.desc(), Announcement.id.desc()).limit(20)).all()
    return [row for row in rows if CHANNEL_BANNER in (row.channels or ())]


# --------------------------------------------------------------------------- writing

def _checked(kind, texts, audience, device_type_id, chosen, ends_on, today):
    errors = {}
    if kind not in KINDS:
        errors["kind"] = _l("Choose what kind of announcement this is.")
    written = {}
    for language, entry in (texts or {}).items():
        title = " ".join(str((entry or {}).get("title") or "").split())
        text = str((entry or {}).get("text") or "").strip()
        if title or text:
            written[language] = {"title": title, "text": text}
    if not written or not all(entry["title"] for entry in written.values()):
        errors["title"] = _l("Give the announcement a title.")
    elif any(len(entry["title"]) > TITLE_MAX for entry in written.values()):
        errors["title"] = _l("The title is too long (at most %(count)s characters).", count=TITLE_MAX)
    if not written or not all(entry["text"] for entry in written.values()):
        errors["text"] = _l("Write the announcement's text.")
    elif any(len(entry["text"]) > TEXT_MAX for entry in written.values()):
        errors["text"] = _l("The text is too long (at most %(count)s characters).", count=TEXT_MAX)
    if audience not in AUDIENCES:
        errors["audience"] = _l("Choose who hears about it.")
    device_type = None
    if audience == AUDIENCE_DEVICE_TYPE:
        device_type_id = parse_id(device_type_id)
        device_type = db.session.get(DeviceType, device_type_id) if device_type_id else None
        if device_type is None:
            errors["device_type_id"] = _l("Choose the device type whose owners hear about it.")
    chosen = [channel for channel in CHANNELS if channel in set(chosen or ())]
    if not chosen:
        errors["channels"] = _l("Choose at least one way to tell them.")
    if ends_on is not None and ends_on < today:
        errors["ends_on"] = _l("The end day cannot be in the past.")
    if errors:
        raise ValidationFailed(errors)
    return written, device_type, chosen


def publish(actor, *, kind, texts, audience, device_type_id=None, channels=(), ends_on=None,
            today=None) -> Announcement:
    """Publish an announcement: its banner shows at once; its email and SMS go to the audience's accounts by a
    job after the commit. Admins and billing staff only. ``texts``: {language: {"title", "text"}}."""
    _require_publisher(actor)
    today = today or utcnow().date()
    written, device_type, chosen = _checked(kind, texts, audience, device_type_id, channels, ends_on, today)
    begin_write(db.session)
    announcement = Announcement(kind=kind, texts=written, audience=audience,
                                device_type_id=device_type.id if device_type else None, channels=chosen,
                                ends_on=ends_on, published_at=utcnow(), published_by_id=getattr(actor, "id", None))
    db.session.add(announcement)
    if CHANNEL_EMAIL in chosen or CHANNEL_SMS in chosen:
        enqueue_after_commit(tell_audience, announcement)
    else:
        announcement.finished_at = utcnow()
    audit.record(actor, "announcement", announcement, "published",
                 {"kind": kind, "audience": audience, "device_type": device_type.code if device_type else None,
                  "channels": chosen})
    commit_service_call(db.session)
    return announcement


def withdraw(actor, announcement_id) -> Announcement:
    """Take the banner down (mail and texts already sent stay sent; those not yet sent are not sent)."""
    _require_publisher(actor)
    announcement = get_announcement(actor, announcement_id)
    if announcement.withdrawn_at is None:
        announcement.withdrawn_at = utcnow()
        audit.record(actor, "announcement", announcement, "withdrawn")
    commit_service_call(db.session)
    return announcement


def dismiss(user, announcement_id) -> None:
    """Close a banner for this login for good; NotFound for one they are not shown."""
    announcement_id = parse_id(announcement_id)
    shown = {row.id for row in banners_for(user, utcnow().date())}
    if announcement_id not in shown:
        raise NotFound()
    db.session.add(AnnouncementDismissal(announcement_id=announcement_id, user_id=user.id))
    commit_service_call(db.session)


# --------------------------------------------------------------------------- telling the audience

def audience_account_ids(announcement, *, after_account_id=0, limit=200) -> list[int]:
    """The ids of the accounts ``announcement`` reaches, from after ``after_account_id`` (a job's chunks)."""
    query = sa.select(CustomerAccount.id).where(CustomerAccount.id > after_account_id)
    if announcement.audience == AUDIENCE_DEVICE_TYPE:
        query = query.where(sa.exists().where(Device.account_id == CustomerAccount.id,
                                              Device.device_type_id == announcement.device_type_id))
    return db.session.scalars(query.order_by(CustomerAccount.id).limit(limit)).all()


def tell_audience(announcement_id: int) -> int:
    """The job: tell the next chunk of the audience's accounts (email and SMS to each account's owners and members
    with the services permission), then queue the next chunk. Returns how many accounts this run told."""
    begin_write(db.session)
    announcement = db.session.get(Announcement, announcement_id, with_for_update=True)
    if announcement is None or announcement.finished_at is not None or announcement.withdrawn_at is not None:
        db.session.rollback()
        return 0
    chunk = int(current_app.config.get("ANNOUNCEMENTS_CHUNK") or 200)
    account_ids = audience_account_ids(announcement, after_account_id=announcement.last_account_id, limit=chunk)
    told_before = set(db.session.scalars(sa.select(AnnouncementDelivery.account_id).where(
        AnnouncementDelivery.announcement_id == announcement.id,
        AnnouncementDelivery.account_id.in_(account_ids)))) if account_ids else set()
    told = 0
    for account_id in account_ids:
        if account_id in told_before:
            continue
        db.session.add(AnnouncementDelivery(announcement_id=announcement.id, account_id=account_id))
        recipients = account_recipients(account_id, PERM_SERVICES)
        if CHANNEL_EMAIL not in announcement.channels:
            recipients = tuple(replace(r, email=None) for r in recipients if r.phone)
        if recipients:
            notify(Notice(NOTICE_KIND, recipients, {"announcement": announcement}))
        told += 1
    announcement.accounts_told += told
    if account_ids:
        announcement.last_account_id = account_ids[-1]
    if len(account_ids) < chunk:
        announcement.finished_at = utcnow()
    else:
        enqueue_after_commit(tell_audience, announcement.id)
    db.session.commit()
    return told


def _sms_text(notice, recipient):
    announcement = notice.about["announcement"]
    if CHANNEL_SMS not in (announcement.channels or ()):
        return None
    title, text = announcement_text(announcement, recipient.locale)
    return _("%(brand)s: %(title)s\n%(text)s", brand=current_app.config["BRAND_NAME"], title=title, text=text)


def _email(notice, recipients, batch):
    announcement = notice.about["announcement"]
    if CHANNEL_EMAIL not in (announcement.channels or ()):
        return
    config = current_app.config
    sender = formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"]))
    for recipient in recipients:
        locale = recipient.locale or config.get("DEFAULT_LOCALE", "en")
        with force_locale(locale):
            title, text = announcement_text(announcement, locale)
            kind = str(KIND_LABELS[announcement.kind])
            greeting = _("Hello %(name)s,", name=recipient.name) if recipient.name else _("Hello,")
            body = "\n\n".join([greeting, title, text, _("%(kind)s from %(brand)s. You can read it in the portal "
                                                         "too: %(link)s", kind=kind, brand=config["BRAND_NAME"],
                                                         link=config["BASE_URL"].rstrip("/") + "/")])
            subject = _("%(kind)s: %(title)s", kind=kind, title=title)
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name, subject=subject,
                    body_text=body + "\n", headers={"Auto-Submitted": "auto-generated"},
                    message_id=new_message_id("announcement"))


def register():
    """The email channel's composer and the SMS channel's text for announcements, and the audit sentences."""
    channels.email.compose(NOTICE_KIND, _email)
    sms.compose(NOTICE_KIND, _sms_text)

    def describe(ids):
        rows = db.session.scalars(sa.select(Announcement).where(Announcement.id.in_(ids))).all()
        return {row.id: Ref("announcement", row.id, announcement_text(row, get_locale())[0] or f"#{row.id}",
                            key=row.id) for row in rows}

    register_kind("announcement", name=_l("Announcement"), describe=describe)
    sentence("announcement", "published", _l("Published the announcement “%(name)s”."))
    sentence("announcement", "withdrawn", _l("Withdrew the announcement “%(name)s”."))


register()
