"""Errors of the accounts package."""
from flask_babel import lazy_gettext as _l

from helpdesk.errors import HelpdeskError


class LinkExpired(HelpdeskError):
    """An emailed account link that is unknown, already used or past its expiry (all look the same)."""

    message = _l("This link has expired.")
