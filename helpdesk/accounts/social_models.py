"""Tables of social login (issue 18): the provider identities linked to logins, and the logins started at a
provider whose callback has not come back yet."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.accounts.models import User
from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db


class SocialIdentity(db.Model):
    """A person's account at a provider (Google, Facebook, an OpenID Connect provider), by the provider's name in
    OPENID_PROVIDERS and its stable subject id, and the login it logs in. It links once ``linked_at`` is set: at
    once when the provider vouched for the email, else when the link mailed to that address is opened."""

    __tablename__ = "social_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)

    id = sa.Column(sa.Integer, primary_key=True)
    provider = sa.Column(sa.String(40), nullable=False)
    subject = sa.Column(sa.String(255), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    # The address the provider gave the last time (normalised as users.email is), and whether it vouched for it.
    email = sa.Column(sa.String(254), nullable=False, default="")
    email_verified = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    linked_at = sa.Column(UTCDateTime)
    last_used_at = sa.Column(UTCDateTime)

    user = relationship(User)


class SocialLoginAttempt(db.Model):
    """One trip to a provider: the SHA-256 of its ``state`` (the browser keeps the state itself in its session),
    the nonce and PKCE verifier the callback needs. The callback spends it once; it expires after
    OPENID_LOGIN_MINUTES either way."""

    __tablename__ = "social_login_attempts"

    id = sa.Column(sa.Integer, primary_key=True)
    provider = sa.Column(sa.String(40), nullable=False)
    state_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    nonce = sa.Column(sa.String(100), nullable=False)
    code_verifier = sa.Column(sa.String(128), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UTCDateTime, nullable=False, index=True)
    used_at = sa.Column(UTCDateTime)
