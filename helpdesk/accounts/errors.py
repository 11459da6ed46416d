"""Errors of the accounts package."""
from helpdesk.errors import HelpdeskError
from helpdesk.i18n import lazy_gettext as _l


class LinkExpired(HelpdeskError):
    """An emailed account link that is unknown, already used or past its expiry (all look the same)."""

    message = _l("This link has expired.")
