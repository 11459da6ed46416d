"""Personal API tokens (issue 20): a person's key to the REST API, with scopes. Only a hash is stored."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime
from helpdesk.extensions import db


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name = sa.Column(sa.String(80), nullable=False)
    # The token reads "hd_<prefix>_<secret>": the prefix finds the row, the SHA-256 of the whole token proves it.
    prefix = sa.Column(sa.String(16), nullable=False, unique=True)
    token_hash = sa.Column(sa.String(64), nullable=False)
    scopes = sa.Column(sa.JSON, nullable=False, default=list)
    created_at = sa.Column(UTCDateTime, nullable=False)
    expires_at = sa.Column(UTCDateTime, nullable=True)
    last_used_at = sa.Column(UTCDateTime, nullable=True)
    revoked_at = sa.Column(UTCDateTime, nullable=True)

    user = relationship("User", lazy="joined")

    def __repr__(self):
        return f"<ApiToken {self.prefix} of user {self.user_id}>"
