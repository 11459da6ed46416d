"""Domains (issue 18): the availability check of a name across the TLDs the catalogue offers (``checks``: RDAP
first, WHOIS as fallback, behind the ``AvailabilityChecker`` interface, results cached in the database), the names'
rules (``names``), and the domain request a customer files once an order with a domain, or a package with a free
domain, is active (``domain_requests``), which staff mark done or reject, or send to a registrar through the
``Registrar`` interface (``registrars``). The adapters live in helpdesk.providers (rdap, whois, registrar_rest)."""

MODELS = ("models",)


def init_app(app):
    """Give the audit trail its sentences for the domains' actions."""
    from helpdesk.domains import audit_sentences  # noqa: F401
