"""What happens when a bought service becomes active: the seam through which the packages that read billing
(devices: a contract renewal extends a device's service, a training video gets its licence) act on a paid order,
so billing never imports them.

A package registers ``fulfil(actor, services, invoice, now)`` for a product kind at start-up; billing calls it
inside the paying transaction, under the invoice lock, with the services of that kind just activated (once per
service, as activation itself happens once). A fulfiller writes rows and queues jobs (network calls run after
commit through the outbox or a job); an exception rolls the payment's settlement back with it."""
from collections.abc import Callable, Sequence

_fulfillers: dict[str, list[Callable]] = {}


def register(product_kind: str, fulfil: Callable) -> None:
    """Call ``fulfil(actor, services, invoice, now)`` when services of ``product_kind`` are activated."""
    fulfillers = _fulfillers.setdefault(product_kind, [])
    if fulfil not in fulfillers:
        fulfillers.append(fulfil)


def services_activated(actor, services: Sequence, invoice, now) -> None:
    """Hand the just-activated ``services`` to the fulfillers of their product kinds."""
    by_kind: dict[str, list] = {}
    for service in services:
        by_kind.setdefault(service.product.kind, []).append(service)
    for kind, of_kind in by_kind.items():
        for fulfil in _fulfillers.get(kind, ()):
            fulfil(actor, of_kind, invoice, now)
