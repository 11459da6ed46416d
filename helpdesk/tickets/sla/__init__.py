"""Service level agreements: how soon a ticket needs its first response and its resolution, the
business calendar those clocks may count in, the clocks' reaction to every state change of a ticket,
breach detection and the admins' changes to targets, business hours and holidays.

Without configured targets these defaults apply (minutes; "business" counts only business hours):

    priority  first response        resolution               clock
    urgent    10 min                4 h                      wall clock (around the clock)
    high      10 min                8 h  (1 business day)    business hours
    normal    4 h                   24 h (3 business days)   business hours
    low       8 h (1 business day)  40 h (5 business days)   business hours

Business time is counted in a calendar: the department's own, else the desk's default (as installed: Monday to
Friday, 09:00 to 17:00 in BUSINESS_TIMEZONE). A calendar has several windows a day, which may run past midnight
(a night shift), or counts around the clock (24/7); holidays stop business-hours calendars. The resolution
clock stands still while a ticket waits on the customer, stops when it is closed and starts again from zero
when it is reopened.

One module per area of change: business_calendar (pure business-time arithmetic), calendars (which calendar
a department counts in, read once per transaction), lookup (which target and calendar apply), clock (the
clocks' state changes and what people see), breaches (the periodic breach job and its mail), admin (targets
and holidays), calendar_admin (calendars, their windows, departments' choice). Callers use the names below."""
from helpdesk.tickets.sla.admin import (
    MAX_TARGET_MINUTES,
    add_holiday,
    delete_target,
    holidays,
    remove_holiday,
    save_target,
    targets,
)
from helpdesk.tickets.sla.breaches import flag_breaches
from helpdesk.tickets.sla.business_calendar import (
    DEFAULT_WINDOWS,
    MINUTES_PER_DAY,
    Calendar,
    add_minutes,
    minutes_between,
)
from helpdesk.tickets.sla.calendar_admin import (
    DEFAULT,
    WEEKDAYS,
    add_window,
    assign_calendars,
    calendars,
    clock_time,
    create_calendar,
    delete_calendar,
    department_calendars,
    describe_window,
    get_calendar,
    parse_clock_time,
    remove_window,
    runs_overnight,
    update_calendar,
    window_key,
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
    "AT_RISK", "BREACHED", "CLOCKS", "DEFAULT", "DEFAULT_TARGETS", "DEFAULT_WINDOWS", "FIRST_RESPONSE",
    "MAX_TARGET_MINUTES", "MINUTES_PER_DAY", "ON_TRACK", "PAUSED", "RESOLUTION", "WEEKDAYS", "Calendar", "DueState",
    "Target", "add_holiday", "add_minutes", "add_window", "assign_calendars", "at_risk_window", "calendars",
    "clock_time", "create_calendar", "delete_calendar", "delete_target", "department_calendars", "describe_window",
    "due_state", "flag_breaches", "get_calendar", "holidays", "load_calendar", "minutes_between", "on_changed",
    "on_first_response", "on_opened", "on_status_changed", "parse_clock_time", "remove_holiday", "remove_window",
    "runs_overnight", "save_target", "target_for", "targets", "update_calendar", "window_key",
]
