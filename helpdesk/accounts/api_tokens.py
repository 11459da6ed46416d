"""Personal API tokens (issue 20): created and revoked by their owner in the profile, shown once, stored hashed,
with scopes, an optional expiry and the time they were last used.

A token grants what its scopes name and never more than its owner may do in the web UI: the API door checks the
scope, the services check the person as they do for every door. Tokens of a deactivated login stop working with it."""
import hashlib
import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.accounts.api_token_models import ApiToken
from helpdesk.db import commit_service_call, utcnow
from helpdesk.errors import NotFound, collect_errors, raise_if
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

PREFIX = "hd_"
# What a token may be used for. Staff-only areas (customers:*, webhooks for all accounts) still need staff.
SCOPES = {
    "tickets:read": _l("Read tickets, their messages and attachments, and search them"),
    "tickets:write": _l("Open tickets, reply, add notes and change tickets"),
    "customers:read": _l("Read customers, customer accounts, organisations, departments and agents"),
    "customers:write": _l("Change customers and customer accounts"),
    "kb:read": _l("Read knowledge base articles"),
    "kb:write": _l("Write knowledge base articles (editors)"),
    "billing:read": _l("Read orders, invoices, payments and services"),
    "billing:write": _l("Record payments (staff)"),
    "devices:read": _l("Read devices and their contracts"),
    "devices:write": _l("Change devices (staff)"),
    "webhooks:manage": _l("Register and manage webhook endpoints"),
}
MAX_NAME = 80
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def tokens_of(user) -> list[ApiToken]:
    """The owner's tokens, newest first (revoked ones too, marked as such)."""
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def create_token(actor, *, name: str, scopes, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``actor`` (a person, for themselves). Returns the row and the token, which is shown once."""
    errors = collect_errors()
    name = (name or "").strip()
    if not name:
        errors["name"] = _l("Give the token a name, so you know later what uses it.")
    elif len(name) > MAX_NAME:
        errors["name"] = _l("At most %(max)s characters.", max=MAX_NAME)
    scopes = sorted(set(scopes or ()))
    if not scopes:
        errors["scopes"] = _l("Choose at least one scope.")
    elif any(scope not in SCOPES for scope in scopes):
        errors["scopes"] = _l("Unknown scope.")
    if expires_in_days is not None and not 1 <= int(expires_in_days) <= 3650:
        errors["expires_in_days"] = _l("Between 1 and 3650 days, or no expiry.")
    raise_if(errors)
    now = utcnow()
    prefix = secrets.token_hex(6)
    token = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(user_id=actor.id, name=name, prefix=prefix, token_hash=_digest(token), scopes=scopes,
                   created_at=now, expires_at=now + timedelta(days=int(expires_in_days)) if expires_in_days else None)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "user", actor.id, "api-token-created", {"token": name, "scopes": scopes})
    commit_service_call(db.session)
    return row, token


def revoke_token(actor, token_id) -> ApiToken:
    """Stop a token from working, now. Only its owner revokes it (a deactivated login's tokens stop with it)."""
    row = db.session.get(ApiToken, token_id) if token_id else None
    if row is None or row.user_id != actor.id:
        raise NotFound()
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(actor, "user", actor.id, "api-token-revoked", {"token": row.name})
    commit_service_call(db.session)
    return row


def authenticate(token: str, now=None) -> ApiToken | None:
    """The live token row for ``token`` (unrevoked, unexpired, its owner active), else None. Notes when it was used
    (at most once a minute, committed at once so a failed request still shows the token was used)."""
    if not token or not token.startswith(PREFIX) or token.count("_") < 2:
        return None
    prefix = token[len(PREFIX):].split("_", 1)[0]
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.prefix == prefix))
    if row is None or not hmac.compare_digest(row.token_hash, _digest(token)):
        return None
    now = now or utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        db.session.commit()
    return row
