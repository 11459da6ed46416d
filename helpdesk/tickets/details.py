"""The facts a customer gives with a new ticket (models.TicketDetails): the rules that check them, for every door
that opens tickets, and the seam through which the billing package will list a customer's services.

The web form (and later the API) pass what was typed; ``check_details`` parses and limits it (an IP address, a
moment with its time zone, a service of this customer) and ``attach_details`` stores it with the new ticket."""
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk.db import utcnow
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.i18n import valid_timezone
from helpdesk.sanitize import clean_name, strip_control
from helpdesk.tickets.models import TicketDetails

REFERENCE_MAX = 100
DIAGNOSTICS_MAX = 20_000  # a long traceroute or mtr report fits; a log file belongs in an attachment
COMPANY_MAX = 200
CUSTOMER_NUMBER_MAX = 50
# How a moment may be typed (the browser's datetime-local input sends the first).
MOMENT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
EARLIEST_YEAR = 1970
FUTURE_SLACK = timedelta(minutes=5)  # a clock a little ahead is no reason to refuse

# The names a door may give (those of a ticket form's fields).
# ``device`` is checked and linked by the devices package's gate (tickets/device_gate.py), not stored here.
FIELDS = ("reference", "server_ip", "problem_started", "problem_timezone", "diagnostics", "service",
          "company_name", "customer_number", "device")


# --------------------------------------------------------------------------- the customer's services (seam)

@dataclass(frozen=True)
class CustomerService:
    """A service a customer has with us, as the ticket form offers it: billing's reference and its name."""

    ref: str
    label: str


_service_sources: list[Callable[[object], Iterable[CustomerService]]] = []


def provide_services(source: Callable[[object], Iterable[CustomerService]]) -> None:
    """Register ``source(customer)``, which yields the customer's CustomerService rows. The billing package
    (issue 16) registers its own at start-up, so the ticket store never imports billing."""
    if source not in _service_sources:
        _service_sources.append(source)


def customer_services(customer) -> list[CustomerService]:
    """The services ``customer`` may pick on the ticket form; none without a customer or without billing
    (until issue 16 fills this through ``provide_services``, the list is always empty)."""
    if customer is None or not getattr(customer, "is_customer", False):
        return []
    return [service for source in _service_sources for service in source(customer)]


# --------------------------------------------------------------------------- checking what was given

def _one_line(errors, name, value, limit):
    text = clean_name(strip_control(str(value or "")), limit=limit + 1)
    if len(text) > limit:
        errors[name] = _l("At most %(num)d characters.", num=limit)
    return text or None


def _server_ip(errors, value):
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        errors["server_ip"] = _l("Enter an IPv4 or IPv6 address, such as 203.0.113.7.")
        return None


def _local_moment(value):
    """A naive datetime from what was typed, or None when it is not one of MOMENT_FORMATS."""
    if isinstance(value, datetime):
        return value
    for pattern in MOMENT_FORMATS:
        try:
            return datetime.strptime(str(value).strip(), pattern)
        except ValueError:
            continue
    return None


def _problem_started(errors, value, zone):
    """(an aware UTC moment, the zone it was given in). A naive or typed moment needs a valid ``zone``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    moment = _local_moment(value)
    if moment is None or moment.year < EARLIEST_YEAR:
        errors["problem_started"] = _l("Enter a date and time, such as 2026-11-24 09:30.")
        return None, None
    zone = str(zone or "").strip()
    if moment.tzinfo is None:
        if not valid_timezone(zone):
            errors["problem_timezone"] = _l("Choose a time zone from the list.")
            return None, None
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    elif zone and not valid_timezone(zone):
        errors["problem_timezone"] = _l("Choose a time zone from the list.")
        return None, None
    if moment > utcnow() + FUTURE_SLACK:
        errors["problem_started"] = _l("That time is in the future.")
        return None, None
    return moment.astimezone(ZoneInfo("UTC")), zone or None


def _diagnostics(errors, value):
    text = strip_control(str(value or "")).replace("\r\n", "\n").rstrip()
    if len(text) > DIAGNOSTICS_MAX:
        errors["diagnostics"] = _l("The diagnostics may be at most %(num)d characters; attach longer output "
                                   "as a file.", num=DIAGNOSTICS_MAX)
    return text.strip("\n") or None


def _service(errors, value, customer):
    ref = str(value or "").strip()
    if not ref:
        return None
    chosen = next((s for s in customer_services(customer) if s.ref == ref), None)
    if chosen is None:
        errors["service"] = _l("Choose one of your services from the list.")
    return chosen


def check_details(errors, given: Mapping | None, customer=None) -> dict:
    """The columns of a TicketDetails row from ``given`` (names in FIELDS; values as typed, or a datetime for
    ``problem_started``), recording a field error for each unusable value; {} when nothing was given.

    Rules: the server IP is an IPv4 or IPv6 address (stored normalised); the problem start is a moment no later
    than now, aware or given with a valid IANA ``problem_timezone``; diagnostics are kept as typed (line breaks,
    spacing) up to DIAGNOSTICS_MAX characters; a service is one of ``customer``'s (``customer_services``)."""
    given = dict(given or {})
    unknown = set(given) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown ticket details: {', '.join(sorted(unknown))}")
    started, zone = _problem_started(errors, given.get("problem_started"), given.get("problem_timezone"))
    service = _service(errors, given.get("service"), customer)
    values = {
        "reference": _one_line(errors, "reference", given.get("reference"), REFERENCE_MAX),
        "server_ip": _server_ip(errors, given.get("server_ip")),
        "problem_started_at": started,
        "problem_timezone": zone,
        "diagnostics": _diagnostics(errors, given.get("diagnostics")),
        "service_ref": service.ref if service else None,
        "service_label": clean_name(service.label) if service else None,
        "company_name": _one_line(errors, "company_name", given.get("company_name"), COMPANY_MAX),
        "customer_number": _one_line(errors, "customer_number", given.get("customer_number"),
                                     CUSTOMER_NUMBER_MAX),
    }
    return {name: value for name, value in values.items() if value is not None}


def attach_details(ticket, values: dict):
    """Store checked ``values`` (``check_details``) with ``ticket``; nothing when there are none."""
    if values:
        ticket.details = TicketDetails(**values)
    return ticket.details
