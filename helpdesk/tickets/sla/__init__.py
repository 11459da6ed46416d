"""Service level agreements: how soon a ticket needs its first response and its resolution, the
business calendar those clocks may count in, the clocks' reaction to every state change of a ticket,
breach detection and the admins' changes to targets, business hours and holidays.

Without configured targets these defaults apply (minutes; "business" counts only business hours):

    priority  first response        resolution               clock
    urgent    10 min                4 h                      wall clock (around the clock)
    high      10 min                8 h  (1 business day)    business hours
    normal    4 h                   24 h (3 business days)   business hours
    low       8 h (1 business day)  40 h (5 business days)   business hours

Without configured business hours a business day is Monday to Friday, 09:00 to 17:00 in
BUSINESS_TIMEZONE. The resolution clock stands still while a ticket waits on the customer, stops
when it is closed and starts again from zero when it is reopened.

One module per area of change: business_calendar (pure business-time arithmetic), lookup (which target and
calendar apply), clock (the clocks' state changes and what people see), breaches (the periodic breach job and
its mail), admin (targets, hours and holidays). Callers use the names below."""
from helpdesk.tickets.sla.admin import (
    MAX_TARGET_MINUTES,
    WEEKDAYS,
    add_holiday,
    business_hours,
    delete_target,
    holidays,
    parse_clock_time,
    remove_holiday,
    save_business_hours,
    save_target,
    targets,
)
from helpdesk.tickets.sla.breaches import flag_breaches
from helpdesk.tickets.sla.business_calendar import (
    DEFAULT_HOURS,
    MINUTES_PER_DAY,
    Calendar,
    add_minutes,
    minutes_between,
)
from helpdesk.tickets.sla.clock import (
    AT_RISK,
    BREACHED,
    CLOCKS,
    FIRST_RESPONSE,
    ON_TRACK,
    PAUSED,
    RESOLUTION,
    DueState,
    at_risk_window,
    due_state,
    on_changed,
    on_first_response,
    on_opened,
    on_status_changed,
)
from helpdesk.tickets.sla.lookup import DEFAULT_TARGETS, Target, load_calendar, target_for

__all__ = [
    "AT_RISK", "BREACHED", "CLOCKS", "DEFAULT_HOURS", "DEFAULT_TARGETS", "FIRST_RESPONSE", "MAX_TARGET_MINUTES",
    "MINUTES_PER_DAY", "ON_TRACK", "PAUSED", "RESOLUTION", "WEEKDAYS", "Calendar", "DueState", "Target",
    "add_holiday", "add_minutes", "at_risk_window", "business_hours", "delete_target", "due_state", "flag_breaches",
    "holidays", "load_calendar", "minutes_between", "on_changed", "on_first_response", "on_opened",
    "on_status_changed", "parse_clock_time", "remove_holiday", "save_business_hours", "save_target", "target_for",
    "targets",
]
