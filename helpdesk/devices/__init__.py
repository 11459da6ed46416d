"""Devices and after-sales service (issue 19): the device types a seller offers, the devices its buyers own (a
customer account each), their warranty and service contracts, pay-per-case service and its running debt,
installation confirmations (immutable once signed), ownership transfers, and the paid training videos.

Money goes through billing (renewal orders, case charges as invoices, video licences as products); support goes
through tickets, which asks this package whether a device may have a new case through the gate it defines
(``helpdesk.tickets.device_gate``), so the ticket store never imports devices. The device's status is derived
from its dates, contracts and choice (``status``), never typed in."""

MODELS = ("models", "contract_models", "announcement_models")


def init_app(app):
    """Register this package's hooks with the ticket store, billing, the audit trail and the scheduler."""
    from helpdesk.devices import announcements  # noqa: F401  announcement texts (email, SMS), audit sentences (D)
