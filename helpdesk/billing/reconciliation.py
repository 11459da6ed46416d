"""Reconciliation of card payments: each enabled gateway that can list payments its provider took but we never
confirmed (Zarinpal's unVerified list) books them. Run by the periodic sweep and by `helpdesk billing reconcile`."""
import logging

from helpdesk.billing.gateways import GatewayError, enabled_gateways

log = logging.getLogger(__name__)


def reconcile_gateways() -> dict[str, int | None]:
    """Ask every enabled gateway with a ``reconcile`` step for payments it took that we never recorded, and book
    them (once: each goes through settle_attempt). Returns the number booked per gateway, None for a gateway that
    could not be reached (logged; the next run asks again)."""
    booked = {}
    for gateway in enabled_gateways():
        reconcile = getattr(gateway, "reconcile", None)
        if reconcile is None:
            continue
        try:
            booked[gateway.name] = reconcile()
        except GatewayError as exc:
            booked[gateway.name] = None
            log.warning("reconciliation failed", extra={"fields": {"gateway": gateway.name, "error": str(exc)}})
            continue
        if booked[gateway.name]:
            log.info("reconciliation booked payments", extra={"fields": {"gateway": gateway.name,
                                                                         "booked": booked[gateway.name]}})
    return booked
