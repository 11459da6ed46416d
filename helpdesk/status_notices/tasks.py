"""The job that tells a notice's affected customers: a mailing worked through in chunks of customers, each chunk's
notices (outbox rows for email) committed together with the mailing's progress, so a job run twice, or killed
halfway, mails each customer once."""
import sqlalchemy as sa
from flask import current_app

from helpdesk.accounts.contacts import PURPOSE_SUPPORT, addresses_for
from helpdesk.db import begin_write, utcnow
from helpdesk.extensions import db
from helpdesk.jobs import enqueue_after_commit
from helpdesk.notify.channels import Notice, Recipient, notify
from helpdesk.status_notices.audience import affected_users
from helpdesk.status_notices.models import MAINTENANCE, StatusMailOptOut, StatusNoticeMailing

CHUNK = 200


def notice_kind(event: str) -> str:
    """The channels' notice kind of a mailing event: "status_notice.published", ".updated", ".resolved"."""
    return f"status_notice.{event}"


def recipients_of(user) -> list[Recipient]:
    """``user``'s support addresses (accounts.contacts) as recipients in their language; the first carries their
    phone number, for a channel that texts (one text per person, however many addresses)."""
    locale = user.locale or current_app.config.get("DEFAULT_LOCALE", "en")
    addresses = addresses_for(user, PURPOSE_SUPPORT)
    if not addresses:
        return [Recipient(email=None, name=user.full_name or "", locale=locale, user_id=user.id,
                          phone=user.phone or None)] if user.phone else []
    return [Recipient(email=address.email, name=address.name or user.full_name or "", locale=locale,
                      user_id=user.id, phone=(user.phone or None) if position == 0 else None)
            for position, address in enumerate(addresses)]


def mail_affected(mailing_id: int):
    """Tell the next chunk of affected customers about the mailing's event, and queue the next chunk's job.
    Customers who opted out of maintenance mail are skipped for maintenance notices; incident mail always goes."""
    begin_write(db.session)
    mailing = db.session.get(StatusNoticeMailing, mailing_id, with_for_update=True)
    if mailing is None or mailing.finished_at is not None:
        db.session.rollback()
        return 0
    notice = mailing.notice
    users = affected_users(notice, after_user_id=mailing.last_user_id, limit=CHUNK)
    if notice.kind == MAINTENANCE and users:
        opted_out = set(db.session.scalars(sa.select(StatusMailOptOut.user_id)
                                           .where(StatusMailOptOut.user_id.in_([u.id for u in users]))))
    else:
        opted_out = set()
    told = [user for user in users if user.id not in opted_out]
    recipients = tuple(r for user in told for r in recipients_of(user))
    if recipients:
        notify(Notice(notice_kind(mailing.event), recipients,
                      {"notice": notice, "update": mailing.update, "mailing": mailing,
                       "timezones": {user.id: user.timezone for user in told if user.timezone}},
                      automatic=True))
    mailing.recipients += len(told)
    if users:
        mailing.last_user_id = users[-1].id
    if len(users) < CHUNK:
        mailing.finished_at = utcnow()
    else:
        enqueue_after_commit(mail_affected, mailing.id)
    db.session.commit()
    return len(told)
