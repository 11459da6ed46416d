"""The vault's domain errors. Their messages never carry a value from the vault."""
from helpdesk.errors import HelpdeskError
from helpdesk.i18n import lazy_gettext as _l


class VaultUnavailable(HelpdeskError):
    """The vault's keys are not configured (production without VAULT_KEYS) or cannot be used."""

    message = _l("The credential vault is not available: its encryption keys are not configured. "
                 "Please tell the helpdesk's administrator.")


class CannotReveal(HelpdeskError):
    """A value did not open (its key was removed from the configuration, or the stored value was altered)."""

    message = _l("This value cannot be read: its encryption key is missing or the stored value was altered. "
                 "Please tell the helpdesk's administrator.")
