"""The domain error hierarchy. Doors map these to HTTP answers, CLI messages or quarantine reasons."""
from helpdesk.i18n import lazy_gettext as _l


class HelpdeskError(Exception):
    """Base of every error a service raises on purpose."""

    message = _l("The request could not be completed.")

    def __init__(self, message=None):
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class NotFound(HelpdeskError):
    """The thing does not exist, or the actor may not know that it does."""

    message = _l("Not found.")


class NotAllowed(HelpdeskError):
    """The actor can see the thing but may not do this to it."""

    message = _l("You are not allowed to do that.")


class Conflict(HelpdeskError):
    """The change clashes with the current state (e.g. it was already done)."""

    message = _l("That change conflicts with the current state.")


class ValidationFailed(HelpdeskError):
    """Input was rejected; ``errors`` maps each bad field to its message, all at once."""

    message = _l("Please correct the marked fields.")

    def __init__(self, errors: dict, message=None):
        self.errors = dict(errors)
        super().__init__(message)

    def __str__(self):
        details = "; ".join(f"{field}: {msg}" for field, msg in self.errors.items())
        return f"{self.message} ({details})" if details else str(self.message)


def collect_errors():
    """A dict to gather field errors in; call ``raise_if(errors)`` when done."""
    return {}


def raise_if(errors: dict):
    if errors:
        raise ValidationFailed(errors)
