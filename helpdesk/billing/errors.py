"""Billing's domain errors (beside helpdesk.errors' NotFound, NotAllowed, Conflict and ValidationFailed)."""
from helpdesk.errors import Conflict, NotAllowed
from helpdesk.i18n import lazy_gettext as _l


class InvoiceNotPayable(Conflict):
    """The invoice takes no more payments of this kind (cancelled, credited, or a credit note)."""

    message = _l("This invoice cannot be paid.")


class InsufficientCredit(Conflict):
    """A spend larger than the account's credit in that currency."""

    message = _l("Your credit balance is not enough for this payment.")


class SecondApproverRequired(NotAllowed):
    """Four eyes: the staff member who booked a transfer may not approve it too."""

    message = _l("Another staff member must approve this booking.")


class AlreadyBooked(Conflict):
    """A bank reference that was booked on another invoice already."""

    message = _l("This bank transfer has already been booked on another invoice.")


class FinalInvoice(Conflict):
    """A final invoice is never changed: credit it instead."""

    message = _l("This invoice is final; cancel it with a credit note.")


class AmountMismatch(Conflict):
    """A gateway reported an amount or currency other than the one we asked it to collect."""

    message = _l("The payment provider reported a different amount.")
