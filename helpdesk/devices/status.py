"""A device's after-sales status, derived from its dates, its installation confirmation, the source of its current
contract and the plan its buyer chose: never typed in, never stored. Pure: reads the device's own columns only.

The service contract's end (``Device.service_ends_on``) is exclusive: the first day without contract service, so a
device whose contract ends on day E has ``E - today`` days remaining and is expired from E on. A buyer's choice of
pay-per-case or cancellation takes effect when the contract runs out (what was paid for is served)."""
from dataclasses import dataclass
from datetime import date

from flask import current_app, has_app_context

from helpdesk.devices.models import PLAN_CANCELLED, PLAN_PAY_PER_CASE
from helpdesk.i18n import lazy_gettext as _l

AWAITING_CONFIRMATION = "awaiting_confirmation"
ACTIVE = "active"
EXPIRING = "expiring"
EXPIRED = "expired"
RENEWED = "renewed"
PAY_PER_CASE = "pay_per_case"
CANCELLED = "cancelled"
STATUSES = (AWAITING_CONFIRMATION, ACTIVE, EXPIRING, EXPIRED, RENEWED, PAY_PER_CASE, CANCELLED)

LABELS = {
    AWAITING_CONFIRMATION: _l("Awaiting installation confirmation"),
    ACTIVE: _l("Active"),
    EXPIRING: _l("Expiring"),
    EXPIRED: _l("Expired"),
    RENEWED: _l("Renewed"),
    PAY_PER_CASE: _l("Pay per case"),
    CANCELLED: _l("Cancelled"),
}

# Where the contract that sets a device's service end came from (``Device.contract_source``, and each contract's).
SOURCE_INITIAL, SOURCE_RENEWAL, SOURCE_GRANTED = "initial", "renewal", "granted"
SOURCES = (SOURCE_INITIAL, SOURCE_RENEWAL, SOURCE_GRANTED)
SOURCE_LABELS = {SOURCE_INITIAL: _l("Initial contract"), SOURCE_RENEWAL: _l("Renewal"),
                 SOURCE_GRANTED: _l("Granted by staff")}

DEFAULT_EXPIRING_DAYS = 30
_ACTIVE_CODES = frozenset((ACTIVE, EXPIRING, RENEWED))


@dataclass(frozen=True)
class DeviceStatus:
    """``code``: one of STATUSES; ``days_remaining``: days until the service end (negative once past it, None when
    the device has no service end); ``label``: the code in the reader's words (a lazy string)."""

    code: str
    days_remaining: int | None
    label: object

    def __str__(self):
        return str(self.label)


def expiring_days() -> int:
    """DEVICES_EXPIRING_DAYS: how many days before its end a running contract counts as expiring."""
    if has_app_context():
        return int(current_app.config.get("DEVICES_EXPIRING_DAYS", DEFAULT_EXPIRING_DAYS))
    return DEFAULT_EXPIRING_DAYS


def contract_running(device, today: date) -> bool:
    return device.service_ends_on is not None and device.service_ends_on > today


def status_of(device, today: date | None = None, *, expiring_within: int | None = None) -> DeviceStatus:
    """The status of ``device`` on ``today`` (the business day when None). In order: not confirmed yet →
    awaiting confirmation; a running contract → expiring (within DEVICES_EXPIRING_DAYS of its end), renewed (its
    current contract came from a paid renewal) or active; no running contract → pay-per-case or cancelled as the
    buyer chose, else expired."""
    if today is None:
        from helpdesk.devices.registry import today as business_today

        today = business_today()
    days = (device.service_ends_on - today).days if device.service_ends_on is not None else None
    if device.confirmed_at is None:
        code = AWAITING_CONFIRMATION
    elif days is not None and days > 0:
        within = expiring_days() if expiring_within is None else expiring_within
        if days <= within:
            code = EXPIRING
        elif getattr(device, "contract_source", None) == SOURCE_RENEWAL:
            code = RENEWED
        else:
            code = ACTIVE
    elif device.plan == PLAN_PAY_PER_CASE:
        code = PAY_PER_CASE
    elif device.plan == PLAN_CANCELLED:
        code = CANCELLED
    else:
        code = EXPIRED
    return DeviceStatus(code=code, days_remaining=days, label=LABELS[code])


def service_is_active(status: DeviceStatus) -> bool:
    """Whether contract service runs (active, expiring or renewed): what opening a covered case needs."""
    return status.code in _ACTIVE_CODES


def may_choose_plan(status: DeviceStatus) -> bool:
    """Whether the buyer may renew or choose pay-per-case or cancellation now: the contract is expiring or over
    (and the installation is confirmed)."""
    return status.code in (EXPIRING, EXPIRED, PAY_PER_CASE, CANCELLED)
