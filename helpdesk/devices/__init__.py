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
    from helpdesk.billing import fulfilment
    from helpdesk.billing.catalogue_models import DEVICE_CONTRACT

    # Imported for what they register when imported: the ticket gate, case notices and audit sentences
    # (cases), transfer texts (transfer_notices), announcement texts (announcements), audit sentences.
    from helpdesk.devices import (  # noqa: F401
        announcements,
        audit_sentences,
        cases,
        contracts,
        crm_tasks,
        mail_notices,
        reminders,
        transfer_notices,
        video_tasks,
    )

    crm_tasks.register_hooks(app)  # the CRM sync follows device events; its jobs when a CRM is configured
    video_tasks.register_hooks(app)  # video licences issued when their product is paid
    mail_notices.register()  # contract reminders by email and SMS
    reminders.register(app)  # the daily reminder job
    fulfilment.register(DEVICE_CONTRACT, contracts.fulfil)  # a paid renewal extends its device's contract
    fulfilment.register_check(DEVICE_CONTRACT, contracts.check_order_items)  # ...which must name a device
