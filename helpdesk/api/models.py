"""The API's own rows: the answers to POSTs sent with an Idempotency-Key, kept a day to answer repeats."""
import sqlalchemy as sa

from helpdesk.db import UTCDateTime
from helpdesk.extensions import db


class IdempotentRequest(db.Model):
    __tablename__ = "api_idempotent_requests"
    __table_args__ = (sa.UniqueConstraint("token_id", "key"),)

    id = sa.Column(sa.Integer, primary_key=True)
    token_id = sa.Column(sa.Integer, sa.ForeignKey("api_tokens.id", ondelete="CASCADE"), nullable=False)
    key = sa.Column(sa.String(255), nullable=False)
    method = sa.Column(sa.String(10), nullable=False)
    path = sa.Column(sa.String(500), nullable=False)
    fingerprint = sa.Column(sa.String(64), nullable=False)  # SHA-256 of the method, path and body
    status = sa.Column(sa.Integer, nullable=True)  # None while the first request is being answered
    body = sa.Column(sa.LargeBinary, nullable=True)
    headers = sa.Column(sa.JSON, nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False, index=True)
