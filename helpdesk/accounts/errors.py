"""Errors of the accounts package."""
from helpdesk.errors import HelpdeskError
from helpdesk.i18n import lazy_gettext as _l


class LinkExpired(HelpdeskError):
    """An emailed account link that is unknown, already used or past its expiry (all look the same)."""

    message = _l("This link has expired.")


class LoginThrottled(HelpdeskError):
    """Too many failed passwords on one login from one address; that address must wait a moment."""

    message = _l("Too many failed attempts. Please wait a moment and try again.")
