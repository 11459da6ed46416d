"""The audit trail's sentences for renewals, reminders, late fees, holds and terminations (registered on import)."""
from helpdesk.audit.sentences import register
from helpdesk.i18n import lazy_gettext as _l

register("billing-service", "held", _l("Held the service %(name)s: %(reason)s"))
register("billing-service", "held-overdue", _l("Suspended the service %(name)s for an unpaid invoice."))
register("billing-service", "hold-lifted", _l("Lifted a hold on the service %(name)s."))
register("billing-service", "renewal-invoiced", _l("Invoiced the next period of the service %(name)s."))
register("billing-service", "period-paid", _l("The service %(name)s was renewed until %(period_end)s."))
register("billing-service", "terminated", _l("Terminated the service %(name)s: its invoice stayed unpaid."))
register("billing-invoice", "reminder-sent", _l("Sent a payment reminder (%(kind)s) for invoice %(name)s."))
register("billing-invoice", "late-fee", _l("Charged a late fee for invoice %(name)s."))
