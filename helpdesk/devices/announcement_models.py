"""Announcements' tables: what staff announced (kind, texts per language, audience, channels, end of the banner),
the accounts already told (one row each: a job run twice tells nobody twice), and the banners a login dismissed."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

SOFTWARE_UPDATE, TERMS_CHANGE, LEGAL_NOTICE = "software_update", "terms_change", "legal_notice"
KINDS = (SOFTWARE_UPDATE, TERMS_CHANGE, LEGAL_NOTICE)
KIND_LABELS = {SOFTWARE_UPDATE: _l("Software update"), TERMS_CHANGE: _l("Change in service terms"),
               LEGAL_NOTICE: _l("Legal or official notice")}

AUDIENCE_ALL, AUDIENCE_DEVICE_TYPE = "all", "device_type"
AUDIENCES = (AUDIENCE_ALL, AUDIENCE_DEVICE_TYPE)
AUDIENCE_LABELS = {AUDIENCE_ALL: _l("All customers"), AUDIENCE_DEVICE_TYPE: _l("Owners of a device type")}

CHANNEL_BANNER, CHANNEL_EMAIL, CHANNEL_SMS = "banner", "email", "sms"
CHANNELS = (CHANNEL_BANNER, CHANNEL_EMAIL, CHANNEL_SMS)
CHANNEL_LABELS = {CHANNEL_BANNER: _l("Portal banner"), CHANNEL_EMAIL: _l("Email"), CHANNEL_SMS: _l("SMS")}


class Announcement(db.Model):
    """One announcement as staff published it. ``texts``: {"fa": {"title": ..., "text": ...}, "en": {...}}, the
    author's language always present; ``channels``: the list of CHANNELS it goes out on."""

    __tablename__ = "announcements"

    id = sa.Column(sa.Integer, primary_key=True)
    kind = sa.Column(sa.String(20), nullable=False)
    texts = sa.Column(sa.JSON, nullable=False, default=dict)
    audience = sa.Column(sa.String(20), nullable=False, default=AUDIENCE_ALL)
    device_type_id = sa.Column(sa.Integer, sa.ForeignKey("device_types.id"), index=True)
    channels = sa.Column(sa.JSON, nullable=False, default=list)
    ends_on = sa.Column(sa.Date)  # the last day the banner shows (None: until withdrawn)
    published_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    published_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    withdrawn_at = sa.Column(UTCDateTime)
    # The job's progress through the audience: accounts by id, those up to here told; finished when all were.
    last_account_id = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    accounts_told = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    finished_at = sa.Column(UTCDateTime)

    device_type = relationship("DeviceType")


class AnnouncementDelivery(db.Model):
    """An account told about an announcement (its email and SMS queued in the same transaction)."""

    __tablename__ = "announcement_deliveries"
    __table_args__ = (sa.UniqueConstraint("announcement_id", "account_id"),)

    id = sa.Column(sa.Integer, primary_key=True)
    announcement_id = sa.Column(sa.Integer, sa.ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class AnnouncementDismissal(db.Model):
    """A login that closed an announcement's banner: it stays closed for them."""

    __tablename__ = "announcement_dismissals"
    __table_args__ = (sa.UniqueConstraint("announcement_id", "user_id"),)

    id = sa.Column(sa.Integer, primary_key=True)
    announcement_id = sa.Column(sa.Integer, sa.ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
