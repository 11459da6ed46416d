"""The SLA business calendar's arithmetic: adding business minutes to an instant and counting the business
minutes between two, across weekends, holidays, nights, Europe/Berlin's DST changes and a paused clock."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.tickets.sla import Calendar, add_minutes, minutes_between

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = Calendar(BERLIN, {d: (9 * 60, 17 * 60) for d in range(5)})  # Mon–Fri 09:00–17:00
ALWAYS = Calendar(BERLIN, {d: (0, 24 * 60) for d in range(7)})


def berlin(*args):
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def test_wall_clock_minutes_ignore_the_calendar():
    start = berlin(2026, 11, 20, 23, 55)  # a Friday night
    assert add_minutes(start, 10) == start + timedelta(minutes=10)
    assert minutes_between(start, start + timedelta(hours=50)) == 3000


def test_minutes_within_business_hours_are_added_as_they_are():
    assert add_minutes(berlin(2026, 11, 24, 10, 0), 25, OFFICE) == berlin(2026, 11, 24, 10, 25)


def test_a_start_before_opening_counts_from_the_opening():
    assert add_minutes(berlin(2026, 11, 24, 6, 30), 10, OFFICE) == berlin(2026, 11, 24, 9, 10)


def test_time_left_at_closing_carries_over_the_night():
    assert add_minutes(berlin(2026, 11, 24, 16, 50), 20, OFFICE) == berlin(2026, 11, 25, 9, 10)


def test_friday_evening_carries_over_the_weekend_to_monday():
    assert add_minutes(berlin(2026, 11, 27, 16, 0), 120, OFFICE) == berlin(2026, 11, 30, 10, 0)


def test_a_ticket_opened_on_saturday_is_due_from_monday_morning():
    assert add_minutes(berlin(2026, 11, 28, 12, 0), 8 * 60, OFFICE) == berlin(2026, 11, 30, 17, 0)


def test_one_business_day_is_eight_hours_of_office_time():
    assert add_minutes(berlin(2026, 11, 24, 13, 0), 8 * 60, OFFICE) == berlin(2026, 11, 25, 13, 0)


def test_holidays_are_skipped():
    with_holiday = Calendar(BERLIN, OFFICE.hours, frozenset({date(2026, 12, 25)}))
    # Thursday 24 Dec 16:00 + 2 h: Friday the 25th is a holiday, the weekend follows.
    assert add_minutes(berlin(2026, 12, 24, 16, 0), 120, with_holiday) == berlin(2026, 12, 28, 10, 0)
    assert minutes_between(berlin(2026, 12, 24, 16, 0), berlin(2026, 12, 28, 10, 0), with_holiday) == 120


def test_business_time_across_the_spring_dst_change_follows_local_office_hours():
    # Friday 27 March 2026 16:00 CET + 2 business hours = Monday 30 March 10:00 CEST.
    due = add_minutes(berlin(2026, 3, 27, 16, 0), 120, OFFICE)
    assert due == berlin(2026, 3, 30, 10, 0)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_a_round_the_clock_calendar_counts_the_short_dst_night_as_it_is():
    # 29 March 2026 has 23 hours in Berlin, 25 October 2026 has 25.
    assert minutes_between(berlin(2026, 3, 28, 12, 0), berlin(2026, 3, 29, 12, 0), ALWAYS) == 23 * 60
    assert minutes_between(berlin(2026, 10, 24, 12, 0), berlin(2026, 10, 25, 12, 0), ALWAYS) == 25 * 60
    assert add_minutes(berlin(2026, 3, 29, 1, 30), 60, ALWAYS) == berlin(2026, 3, 29, 3, 30)


def test_business_minutes_between_skip_nights_and_weekends():
    assert minutes_between(berlin(2026, 11, 27, 16, 0), berlin(2026, 11, 30, 10, 0), OFFICE) == 120
    assert minutes_between(berlin(2026, 11, 28, 8, 0), berlin(2026, 11, 29, 20, 0), OFFICE) == 0
    assert minutes_between(berlin(2026, 11, 24, 12, 0), berlin(2026, 11, 24, 11, 0), OFFICE) == 0


def test_pausing_and_resuming_moves_the_due_time_by_the_paused_business_time():
    opened = berlin(2026, 11, 24, 10, 0)
    due = add_minutes(opened, 4 * 60, OFFICE)  # 14:00
    paused, resumed = berlin(2026, 11, 24, 12, 0), berlin(2026, 11, 25, 11, 0)  # waits 5 + 2 business hours
    paused_minutes = minutes_between(paused, resumed, OFFICE)
    assert paused_minutes == 7 * 60
    assert add_minutes(due, paused_minutes, OFFICE) == berlin(2026, 11, 25, 13, 0)
    # the same as counting the target from the opening with the paused time added
    assert add_minutes(opened, 4 * 60 + paused_minutes, OFFICE) == berlin(2026, 11, 25, 13, 0)
    # and 2 business hours are left after resuming, as when it was paused
    assert minutes_between(resumed, berlin(2026, 11, 25, 13, 0), OFFICE) == 120


def test_a_calendar_without_open_days_is_refused():
    with pytest.raises(ValueError):
        add_minutes(berlin(2026, 11, 24, 10, 0), 10, Calendar(BERLIN, {}))
