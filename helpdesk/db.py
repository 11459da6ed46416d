"""Model base with a constraint naming convention, UTC timestamps, and the per-name counters."""
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; helpdesk stores aware UTC timestamps only")
        value = value.astimezone(UTC)
        # SQLite keeps no offset; store naive UTC there so comparisons stay lexical-safe.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Counter(Model):
    """Named monotonic counters (ticket numbers); one row per name, bumped under a row lock."""

    __tablename__ = "counters"
    name = sa.Column(sa.String(50), primary_key=True)
    value = sa.Column(sa.BigInteger, nullable=False)


def next_value(session, name: str, start: int) -> int:
    """Return the next value of counter ``name``; the row stays locked until the caller commits."""
    bumped = session.execute(
        sa.update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar()
    if bumped is not None:
        return bumped
    # First use: create the row. A concurrent creator makes our insert fail; retry the update then.
    try:
        with session.begin_nested():
            session.add(Counter(name=name, value=start))
        return start
    except sa.exc.IntegrityError:
        return next_value(session, name, start)
