"""Devices and after-sales service (issue 19): the device types a seller offers, the devices its buyers own (a
customer account each), their warranty and service contracts, pay-per-case service and its running debt,
installation confirmations (immutable once signed), ownership transfers, and the paid training videos.

Money goes through billing (renewal orders, case charges as invoices, video licences as products); support goes
through tickets, which asks this package whether a device may have a new case through the gate it defines
(``helpdesk.tickets.device_gate``), so the ticket store never imports devices. The device's status is derived
from its dates, contracts and choice (``status``), never typed in."""

TEMPLATES = "templates"  # the mails it sends
MODELS = ("models", "contract_models", "case_models", "installation_models", "transfer_models",
          "announcement_models", "crm_models", "video_models")


def init_app(app):
    """Register this package's hooks with the ticket store, billing, the audit trail and the scheduler."""
    from helpdesk.devices import cases  # noqa: F401  the ticket gate, case notices and audit sentences (B2)
    from helpdesk.devices import transfer_notices  # noqa: F401  transfer texts (SMS, email), audit sentences (C)
    from helpdesk.devices import announcements  # noqa: F401  announcement texts (email, SMS), audit sentences (D)
    from helpdesk.devices import crm_tasks, video_tasks  # CRM sync, video licences (E)

    crm_tasks.register_hooks(app)
    video_tasks.register_hooks(app)

    # B1: contract notices, reminders, the renewals' fulfiller, audit sentences
    from helpdesk.billing import fulfilment
    from helpdesk.billing.catalogue_models import DEVICE_CONTRACT
    from helpdesk.devices import audit_sentences, contracts, mail_notices, reminders  # noqa: F401  (B1)

    mail_notices.register()
    reminders.register(app)
    fulfilment.register(DEVICE_CONTRACT, contracts.fulfil)
    fulfilment.register_check(DEVICE_CONTRACT, contracts.check_order_items)
