"""Billing records hanging off customers: the catalogue, orders, invoices (proforma → final under a numbering
lock), the services bought, payments through one idempotent path (``payments.record_payment``), bank transfers,
the credit ledger and the seam for payment gateways (``gateways``; the adapters live in helpdesk.providers).

Public modules: money (amounts, rounding, formatting), catalogue (admins manage products, prices, options,
packages, tax rules; customers read it), customers (the billed party and its details), orders (cart → order,
accept/hold/cancel), invoices (proforma, final number, credit notes), payments (record_payment), credit (the
ledger, paying from credit), transfers (bank details, proofs, staff bookings with four eyes), gateways (the
PaymentGateway interface and payment attempts), services (what customers have), access (who sees what)."""

MODELS = ("catalogue_models", "models", "renewal_models", "plan_change_models")
TEMPLATES = "templates"  # the mails it sends


def init_app(app):
    """Give the audit trail its sentences for billing's actions, and the ticket form its service picker: the
    tickets domain asks through its own seam (tickets.details.provide_services) and never imports billing.
    Identity decisions release the orders held for them (accounts asks through ``verification.follow``)."""
    from helpdesk.accounts import verification
    from helpdesk.billing import audit_sentences, mail_notices, orders  # noqa: F401
    from helpdesk.billing.services import ticket_services
    from helpdesk.tickets.details import provide_services

    provide_services(ticket_services)
    mail_notices.register()
    verification.follow(decided=orders.release_held_for_identity)

