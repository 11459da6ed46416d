"""Satisfaction ratings: the requester rates a closed ticket good or bad (with an optional comment) through a
signed link in the closing mail, without logging in; agents see the rating and the figures over recent days."""
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import backref, relationship

from helpdesk import audit
from helpdesk.accounts.models import User
from helpdesk.db import UTCDateTime, commit_service_call, utcnow
from helpdesk.errors import HelpdeskError, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control
from helpdesk.tickets.models import Ticket

GOOD, BAD = "good", "bad"
RATINGS = {GOOD: _l("Good, I'm satisfied"), BAD: _l("Bad, I'm not satisfied")}
COMMENT_MAX = 2000
RATING_PATH = "/satisfaction/"
_SALT = "helpdesk.satisfaction"


class SatisfactionRating(db.Model):
    """The requester's one rating of a ticket; a later vote through the link replaces it."""

    __tablename__ = "satisfaction_ratings"

    id = sa.Column(sa.Integer, primary_key=True)
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True)
    rating = sa.Column(sa.String(4), nullable=False)
    comment = sa.Column(sa.Text, nullable=False, default="")
    # The requester when they rated (the ticket's requester may change later).
    rated_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)

    ticket = relationship(Ticket, backref=backref("satisfaction", uselist=False, passive_deletes=True))
    rated_by = relationship(User)

    @property
    def label(self):
        return RATINGS.get(self.rating, self.rating)


class RatingLinkInvalid(HelpdeskError):
    """A rating link that was altered, belongs to no ticket (or to another requester) or has expired."""

    message = _l("This rating link is not valid.")

    def __init__(self, expired=False):
        self.expired = expired
        super().__init__(_l("This rating link has expired.") if expired else None)


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def rating_token(ticket, rating) -> str:
    """The signed part of a rating link: the ticket, its requester and the rating the link offers."""
    return _serializer().dumps({"t": ticket.id, "u": ticket.requester_id, "r": rating})


def rating_link(ticket, rating) -> str:
    """The absolute URL of the one-click link offering ``rating`` (good or bad) for ``ticket``."""
    return current_app.config["BASE_URL"].rstrip("/") + RATING_PATH + rating_token(ticket, rating)


def read_link(token):
    """(ticket, offered rating) for a rating link token; RatingLinkInvalid when tampered with or expired,
    or when the ticket is gone or has another requester now. Changes nothing (mail scanners open links)."""
    max_age = int(current_app.config["SATISFACTION_LINK_DAYS"]) * 86400
    try:
        data = _serializer().loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise RatingLinkInvalid(expired=True) from None
    except BadSignature:
        raise RatingLinkInvalid() from None
    if not isinstance(data, dict) or data.get("r") not in RATINGS:
        raise RatingLinkInvalid()
    ticket = db.session.get(Ticket, data.get("t")) if isinstance(data.get("t"), int) else None
    if ticket is None or ticket.requester_id != data.get("u"):
        raise RatingLinkInvalid()
    return ticket, data["r"]


def rating_of(ticket):
    """The ticket's rating, or None."""
    return db.session.scalar(sa.select(SatisfactionRating).where(SatisfactionRating.ticket_id == ticket.id))


def rate_ticket(ticket, rating, comment="") -> SatisfactionRating:
    """Record (or change) the requester's rating of ``ticket``: good or bad, with an optional comment.

    The caller has checked the signed link, which stands for the requester; one rating per ticket, so a
    second vote replaces the first (rating and comment)."""
    errors = {}
    if rating not in RATINGS:
        errors["rating"] = _l("Choose good or bad.")
    comment = strip_control(comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = _l("Use at most %(num)d characters.", num=COMMENT_MAX)
    if errors:
        raise ValidationFailed(errors)
    requester = ticket.requester
    row = rating_of(ticket)
    now = utcnow()
    if row is None:
        row = SatisfactionRating(ticket=ticket, created_at=now)
        db.session.add(row)
        before = None
    else:
        before = row.rating
    row.rating, row.comment, row.rated_by, row.updated_at = rating, comment, requester, now
    db.session.flush()
    audit.record(requester, "ticket", ticket.id, "rated", {"rating": [before, rating], "comment": bool(comment)})
    commit_service_call(db.session)
    return row


@dataclass(frozen=True)
class Summary:
    """Ratings given (or last changed) in the last ``days`` days."""

    days: int
    good: int
    bad: int

    @property
    def total(self):
        return self.good + self.bad

    @property
    def share_good(self):
        """The share of good ratings (0 to 1), or None without ratings."""
        return self.good / self.total if self.total else None


def summary(days) -> Summary:
    """Counts of good and bad ratings over the last ``days`` days and the share that is good."""
    since = utcnow() - timedelta(days=int(days))
    counts = dict(db.session.execute(
        sa.select(SatisfactionRating.rating, sa.func.count())
        .where(SatisfactionRating.updated_at >= since).group_by(SatisfactionRating.rating)
    ).all())
    return Summary(days=int(days), good=counts.get(GOOD, 0), bad=counts.get(BAD, 0))
