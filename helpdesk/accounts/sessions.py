"""Login sessions kept on the server: one row per logged-in browser, so a logout ends that browser's
session for good (a saved session or remember-me cookie no longer loads anyone), and a password change,
a reset or "log out everywhere" ends the others. Only the SHA-256 of each session token is stored."""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.accounts.models import LoginSession, User
from helpdesk.db import commit_service_call, utcnow
from helpdesk.errors import NotAllowed
from helpdesk.extensions import db


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _lifetime():
    # The longest any cookie of ours lives: a remembered browser logs in again until then.
    return timedelta(days=int(current_app.config["REMEMBER_COOKIE_DAYS"]))


def start_session(user: User) -> User:
    """Start a login session for ``user`` (who has just proved who they are) and return the user, whose
    ``get_id()`` now names that session. The user's expired sessions are cleared away."""
    now = utcnow()
    db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token_hash=_digest(token), created_at=now,
                                expires_at=now + _lifetime()))
    user.session_token = token
    commit_service_call(db.session)
    return user


def load_session_user(session_id: str):
    """The user of a session cookie id ('<id>:<session_version>:<token>'), or None when that session was
    ended (logout, password change or reset, log out everywhere, deactivation) or has expired."""
    try:
        user_id, version, token = session_id.split(":")
        user_id, version = int(user_id), int(version)
    except (ValueError, AttributeError):
        return None
    if not token or len(token) > 100 or not token.isascii():
        return None
    user = db.session.scalar(
        sa.select(User).join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == user_id, LoginSession.token_hash == _digest(token), LoginSession.expires_at > utcnow())
    )
    if user is None or user.session_version != version or not user.is_active:
        return None
    user.session_token = token
    return user


def end_session(user: User) -> None:
    """End the session ``user`` was loaded for (logout); the user's other sessions go on."""
    if user.session_token:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id,
                                                         LoginSession.token_hash == _digest(user.session_token)))
    user.session_token = None
    commit_service_call(db.session)


def end_other_sessions(user: User, keep: str | None = None) -> None:
    """End every session of ``user`` but the one whose token is ``keep``. Never commits: for the service
    call that changed the password."""
    query = sa.delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep:
        query = query.where(LoginSession.token_hash != _digest(keep))
    db.session.execute(query)


def end_all_sessions(actor, user: User) -> None:
    """Log ``user`` out everywhere, this browser included. The user themself or an admin."""
    if not (actor.is_system or actor.is_admin or getattr(actor, "id", None) == user.id):
        raise NotAllowed()
    end_other_sessions(user)
    user.session_token = None
    audit.record(actor, "user", user.id, "logged-out-everywhere", {})
    commit_service_call(db.session)


def count_sessions(user: User) -> int:
    """How many browsers are logged in as ``user``."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == user.id, LoginSession.expires_at > utcnow()))
