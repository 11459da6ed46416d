"""Login throttling by (login, address): after LOGIN_THROTTLE_AFTER_FAILURES failed passwords from one IP
address on one login, that address waits LOGIN_THROTTLE_FIRST_DELAY_SECONDS before its next try, twice as
long after each further failure, up to LOGIN_THROTTLE_MAX_DELAY_SECONDS. The owner logging in from
anywhere else is never held up, so no one can lock anyone out. Logins no account has are throttled alike,
so the answers never tell which addresses are registered. The owner hears by mail, once per episode,
when throttling begins. These helpers never commit; ``accounts.service.authenticate`` does."""
import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from helpdesk.accounts import notifications
from helpdesk.accounts.models import LoginThrottle
from helpdesk.db import utcnow
from helpdesk.extensions import db

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def login_key(user, login: str) -> str:
    """What failures are counted against: the account when there is one, else the login as typed
    (case and surrounding space aside)."""
    if user is not None:
        return f"user:{user.id}"
    return "login:" + hashlib.sha256((login or "").strip().lower().encode("utf-8", "surrogatepass")).hexdigest()


def _window():
    return timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])


def is_blocked(key: str, ip: str) -> bool:
    """Whether ``ip`` must still wait before trying ``key`` again."""
    blocked_until = db.session.scalar(
        sa.select(LoginThrottle.blocked_until).where(LoginThrottle.login_key == key, LoginThrottle.ip == ip))
    return blocked_until is not None and blocked_until > utcnow()


def delay_after(failures: int) -> timedelta | None:
    """How long an address waits after its ``failures``-th failure in a row on one login (None: not at all)."""
    config = current_app.config
    over = failures - int(config["LOGIN_THROTTLE_AFTER_FAILURES"])
    if over < 0:
        return None
    seconds = float(config["LOGIN_THROTTLE_FIRST_DELAY_SECONDS"]) * 2 ** min(over, 32)
    return timedelta(seconds=min(seconds, float(config["LOGIN_THROTTLE_MAX_DELAY_SECONDS"])))


def record_failure(key: str, ip: str, user=None) -> None:
    """Count a failed password from ``ip`` on ``key``; ``user`` is the account's owner, if any, to be told
    when throttling begins. Counts start again after LOGIN_FAILURE_WINDOW_MINUTES without a failure."""
    now = utcnow()
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.last_failed_at <= now - _window(),
                                                      sa.or_(LoginThrottle.blocked_until.is_(None),
                                                             LoginThrottle.blocked_until <= now)))
    # Two failures at once from one address must not trip over each other creating the row.
    insert = _INSERT[db.session.get_bind().dialect.name]
    db.session.execute(insert(LoginThrottle).values(login_key=key, ip=ip, user_id=getattr(user, "id", None),
                                                    failures=0, last_failed_at=now)
                       .on_conflict_do_nothing(index_elements=["login_key", "ip"]))
    row = db.session.scalar(sa.select(LoginThrottle).where(LoginThrottle.login_key == key, LoginThrottle.ip == ip)
                            .with_for_update().execution_options(populate_existing=True))
    row.failures += 1
    row.last_failed_at = now
    delay = delay_after(row.failures)
    if delay is None:
        return
    row.blocked_until = now + delay
    if user is not None and row.notified_at is None and not _owner_told_of_this_episode(user, now):
        row.notified_at = now
        notifications.send_login_throttled(user, ip)


def _owner_told_of_this_episode(user, now) -> bool:
    # One mail while failures go on, from however many addresses; a new one after a quiet window.
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(LoginThrottle)
        .where(LoginThrottle.user_id == user.id, LoginThrottle.notified_at.is_not(None),
               LoginThrottle.last_failed_at > now - _window())
    ) > 0


def clear(key: str, ip: str) -> None:
    """Forget the failures of ``ip`` on ``key`` (it has just logged in)."""
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.login_key == key, LoginThrottle.ip == ip))


def clear_account(user) -> None:
    """Forget every failure on ``user``'s account (its password has just been reset)."""
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.user_id == user.id))
