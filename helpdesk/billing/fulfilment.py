"""What happens when a bought service becomes active: the seam through which the packages that read billing
(devices: a contract renewal extends a device's service, a training video gets its licence) act on a paid order,
so billing never imports them.

A package registers ``fulfil(actor, services, invoice, now)`` for a product kind at start-up; billing calls it
inside the paying transaction, under the invoice lock, with the services of that kind just activated (once per
service, as activation itself happens once). A fulfiller writes rows and queues jobs (network calls run after
commit through the outbox or a job); an exception rolls the payment's settlement back with it. A package may also
register a check that refuses an order before it is placed (``register_check``)."""
from collections.abc import Callable, Sequence

_fulfillers: dict[str, list[Callable]] = {}
_checks: dict[str, list[Callable]] = {}


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


def register_check(product_kind: str, check: Callable) -> None:
    """Call ``check(actor, account, drafts)`` before an order with items of ``product_kind`` is placed (``drafts``:
    the quote's DraftService rows of that kind); it raises ValidationFailed to refuse the order (a contract
    renewal that names no device of the account, bought from the catalogue instead of the device's page)."""
    checks = _checks.setdefault(product_kind, [])
    if check not in checks:
        checks.append(check)


def check_order(actor, account, drafts: Sequence) -> None:
    """Run the checks registered for the kinds of the order's ``drafts``; raises what they raise."""
    by_kind: dict[str, list] = {}
    for draft in drafts:
        by_kind.setdefault(draft.product.kind, []).append(draft)
    for kind, of_kind in by_kind.items():
        for check in _checks.get(kind, ()):
            check(actor, account, of_kind)
