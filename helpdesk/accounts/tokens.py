"""Single-use account links (activation, password reset, confirming a notification address): issue, look up,
spend, revoke. Only hashes are stored.
These helpers never commit; the service call around them does."""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from helpdesk.accounts.errors import LinkExpired
from helpdesk.accounts.models import AccountToken
from helpdesk.db import utcnow
from helpdesk.extensions import db


def _digest(token: str) -> str:
    return hashlib.sha256((token or "").encode("utf-8", "surrogatepass")).hexdigest()


def issue(user, purpose: str, lifetime: timedelta) -> str:
    """A new token for ``user``; earlier unused tokens of the same purpose stop working."""
    now = utcnow()
    revoke(user, purpose)
    token = secrets.token_urlsafe(32)
    db.session.add(AccountToken(purpose=purpose, user=user, token_hash=_digest(token), created_at=now,
                                expires_at=now + lifetime))
    return token


def revoke(user, purpose: str) -> None:
    """Stop every unused token of ``purpose`` for ``user`` from working (what it was for is gone)."""
    db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def find_valid(purpose: str, token: str, lock: bool = False):
    """The unused, unexpired token row for ``token``, else None."""
    if not token or len(token) > 200:
        return None
    query = sa.select(AccountToken).where(
        AccountToken.token_hash == _digest(token), AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None), AccountToken.expires_at > utcnow(),
    )
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def spend(purpose: str, token: str) -> AccountToken:
    """Mark the token used and return its row (locked until commit); raises LinkExpired."""
    row = find_valid(purpose, token, lock=True)
    if row is None:
        raise LinkExpired()
    row.used_at = utcnow()
    return row
