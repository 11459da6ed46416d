"""The SLA business calendar's arithmetic: adding business minutes to an instant and counting the business
minutes between two, across weekends, holidays, nights, Europe/Berlin's DST changes and a paused clock; with
several windows a day, windows that run past midnight (night shifts) and around-the-clock (24/7) calendars."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.tickets.sla import Calendar, add_minutes, minutes_between
from helpdesk.tickets.sla.calendar_admin import overlapping_window
from helpdesk.tickets.sla_models import CalendarWindow

BERLIN = ZoneInfo("Europe/Berlin")
H = 60
OFFICE = Calendar(BERLIN, [(d, 9 * H, 17 * H) for d in range(5)])  # Mon–Fri 09:00–17:00
ALWAYS = Calendar(BERLIN, [(d, 0, 24 * H) for d in range(7)])
NIGHTS = Calendar(BERLIN, [(d, 22 * H, 6 * H) for d in range(5)])  # Mon–Fri 22:00 to 06:00 the next morning
EVERY_NIGHT = Calendar(BERLIN, [(d, 22 * H, 6 * H) for d in range(7)])
SPLIT = Calendar(BERLIN, [(d, 8 * H, 12 * H) for d in range(5)] + [(d, 13 * H, 17 * H) for d in range(5)])
TWENTY_FOUR_SEVEN = Calendar(BERLIN, (), frozenset({date(2026, 12, 25)}), around_the_clock=True)


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
    with_holiday = Calendar(BERLIN, OFFICE.windows, frozenset({date(2026, 12, 25)}))
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
        add_minutes(berlin(2026, 11, 24, 10, 0), 10, Calendar(BERLIN, ()))


# --------------------------------------------------------------------------- several windows, nights, 24/7

def test_a_split_shift_skips_the_lunch_break():
    # Tuesday 24 Nov 2026: 08:00–12:00 and 13:00–17:00.
    assert add_minutes(berlin(2026, 11, 24, 11, 30), 60, SPLIT) == berlin(2026, 11, 24, 13, 30)
    assert add_minutes(berlin(2026, 11, 24, 12, 15), 30, SPLIT) == berlin(2026, 11, 24, 13, 30)
    assert minutes_between(berlin(2026, 11, 24, 11, 0), berlin(2026, 11, 24, 14, 0), SPLIT) == 120
    assert minutes_between(berlin(2026, 11, 24, 0, 0), berlin(2026, 11, 25, 0, 0), SPLIT) == 8 * H


def test_a_night_shift_runs_past_midnight_into_the_next_day():
    # Monday 23 Nov 2026 23:00 + 2 h of the Monday night shift = Tuesday 01:00.
    assert add_minutes(berlin(2026, 11, 23, 23, 0), 120, NIGHTS) == berlin(2026, 11, 24, 1, 0)
    # Tuesday 05:30 + 1 h: half an hour before Tuesday's shift ends, the rest from 22:00.
    assert add_minutes(berlin(2026, 11, 24, 5, 30), 60, NIGHTS) == berlin(2026, 11, 24, 22, 30)
    # A ticket opened at noon waits for the evening's shift.
    assert add_minutes(berlin(2026, 11, 24, 12, 0), 30, NIGHTS) == berlin(2026, 11, 24, 22, 30)
    assert minutes_between(berlin(2026, 11, 23, 20, 0), berlin(2026, 11, 24, 8, 0), NIGHTS) == 8 * H


def test_the_friday_night_shift_belongs_to_friday_and_ends_on_saturday_morning():
    # Saturday 28 Nov 05:00 is still Friday's shift (until 06:00); Saturday and Sunday have no shift of their own.
    assert add_minutes(berlin(2026, 11, 28, 5, 0), 120, NIGHTS) == berlin(2026, 11, 30, 23, 0)
    assert add_minutes(berlin(2026, 11, 29, 23, 0), 10, NIGHTS) == berlin(2026, 11, 30, 22, 10)
    assert minutes_between(berlin(2026, 11, 27, 12, 0), berlin(2026, 11, 30, 12, 0), NIGHTS) == 8 * H


def test_a_sunday_night_shift_wraps_into_monday():
    sunday_nights = Calendar(BERLIN, [(6, 22 * H, 6 * H)])
    assert add_minutes(berlin(2026, 11, 29, 21, 0), 9 * H, sunday_nights) == berlin(2026, 12, 6, 23, 0)
    assert minutes_between(berlin(2026, 11, 30, 0, 0), berlin(2026, 11, 30, 12, 0), sunday_nights) == 6 * H


def test_around_the_clock_counts_every_minute_and_ignores_holidays():
    christmas_eve = berlin(2026, 12, 24, 20, 0)
    assert add_minutes(christmas_eve, 10 * H, TWENTY_FOUR_SEVEN) == christmas_eve + timedelta(hours=10)
    assert minutes_between(christmas_eve, berlin(2026, 12, 26, 20, 0), TWENTY_FOUR_SEVEN) == 48 * H
    # Real minutes across the spring DST change: the local clock shows an hour more.
    assert add_minutes(berlin(2026, 3, 28, 12, 0), 24 * H, TWENTY_FOUR_SEVEN) == berlin(2026, 3, 29, 13, 0)


def test_a_night_window_over_the_spring_dst_change_is_an_hour_shorter():
    # Saturday 28 March 2026 22:00 CET to Sunday 06:00 CEST is 7 hours of real time.
    saturday_night = Calendar(BERLIN, [(5, 22 * H, 6 * H)])
    assert minutes_between(berlin(2026, 3, 28, 12, 0), berlin(2026, 3, 29, 12, 0), saturday_night) == 7 * H
    assert add_minutes(berlin(2026, 3, 28, 22, 0), 7 * H, saturday_night) == berlin(2026, 3, 29, 6, 0)
    assert add_minutes(berlin(2026, 3, 28, 22, 0), 3 * H, saturday_night) == berlin(2026, 3, 29, 1, 0)
    # 22:00 + 4 h passes 02:00, which does not exist: it is 03:00 CEST.
    assert add_minutes(berlin(2026, 3, 28, 22, 0), 4 * H, saturday_night) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert add_minutes(berlin(2026, 3, 28, 22, 0), 4 * H, saturday_night) == berlin(2026, 3, 29, 3, 0)


def test_a_night_window_over_the_autumn_dst_change_is_an_hour_longer():
    # Saturday 24 October 2026 22:00 CEST to Sunday 06:00 CET is 9 hours of real time.
    saturday_night = Calendar(BERLIN, [(5, 22 * H, 6 * H)])
    assert minutes_between(berlin(2026, 10, 24, 12, 0), berlin(2026, 10, 25, 12, 0), saturday_night) == 9 * H
    assert add_minutes(berlin(2026, 10, 24, 22, 0), 9 * H, saturday_night) == berlin(2026, 10, 25, 6, 0)
    # Next week's shift takes the rest.
    assert add_minutes(berlin(2026, 10, 24, 22, 0), 9 * H + 30, saturday_night) == berlin(2026, 10, 31, 22, 30)


def test_a_window_whose_edge_falls_into_the_dst_gap_still_counts_real_minutes():
    # On 29 March 2026 local 02:00–02:59 does not exist; a window 01:00–02:30 ends at 03:30 CEST.
    early = Calendar(BERLIN, [(6, 1 * H, 2 * H + 30)])
    assert minutes_between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 29, 12, 0), early) == 90
    assert add_minutes(berlin(2026, 3, 29, 0, 0), 90, early) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # A window lying wholly in the gap adds nothing and breaks nothing.
    gap = Calendar(BERLIN, [(6, 2 * H + 10, 2 * H + 50), (0, 9 * H, 10 * H)])
    assert minutes_between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0), gap) == 40
    assert add_minutes(berlin(2026, 3, 29, 0, 0), 50, gap) == berlin(2026, 3, 30, 9, 10)


def test_a_holiday_inside_a_night_window_stops_the_clock_for_that_date_only():
    # Every night 22:00–06:00; Friday 25 December 2026 is a holiday: Thursday's shift counts until midnight,
    # nothing counts on the 25th, Friday's shift counts again from Saturday 00:00.
    calendar = Calendar(BERLIN, EVERY_NIGHT.windows, frozenset({date(2026, 12, 25)}))
    assert add_minutes(berlin(2026, 12, 24, 22, 0), 3 * H, calendar) == berlin(2026, 12, 26, 1, 0)
    assert minutes_between(berlin(2026, 12, 24, 22, 0), berlin(2026, 12, 26, 6, 0), calendar) == 8 * H
    assert minutes_between(berlin(2026, 12, 25, 0, 0), berlin(2026, 12, 26, 0, 0), calendar) == 0


def test_pausing_over_a_night_shift_moves_the_due_time_by_the_paused_business_time():
    opened = berlin(2026, 11, 23, 23, 0)  # Monday night
    due = add_minutes(opened, 4 * H, NIGHTS)
    assert due == berlin(2026, 11, 24, 3, 0)
    paused, resumed = berlin(2026, 11, 24, 1, 0), berlin(2026, 11, 24, 23, 0)  # 01:00–06:00 and 22:00–23:00
    paused_minutes = minutes_between(paused, resumed, NIGHTS)
    assert paused_minutes == 6 * H
    new_due = add_minutes(due, paused_minutes, NIGHTS)
    assert new_due == berlin(2026, 11, 25, 1, 0)
    assert add_minutes(opened, 4 * H + paused_minutes, NIGHTS) == new_due
    # the two hours left when it was paused are left after it resumes
    assert minutes_between(resumed, new_due, NIGHTS) == 2 * H


def test_adding_nothing_at_closing_time_keeps_the_due_time():
    # A due time at 17:00 exactly, resumed after no business time: still 17:00, not tomorrow morning.
    assert add_minutes(berlin(2026, 11, 24, 17, 0), 0, OFFICE) == berlin(2026, 11, 24, 17, 0)
    assert add_minutes(berlin(2026, 11, 24, 20, 0), 0, OFFICE) == berlin(2026, 11, 25, 9, 0)


def test_overlapping_windows_are_found_across_midnight_and_the_end_of_the_week():
    def window(day, opens, closes):
        return CalendarWindow(weekday=day, opens_minute=opens, closes_minute=closes)

    monday_night = window(0, 22 * H, 6 * H)
    assert overlapping_window([monday_night], 1, 5 * H, 9 * H) is monday_night
    assert overlapping_window([monday_night], 1, 6 * H, 14 * H) is None  # touching is fine
    assert overlapping_window([monday_night], 0, 8 * H, 22 * H) is None
    assert overlapping_window([monday_night], 0, 0, 24 * H) is monday_night
    sunday_night = window(6, 23 * H, 1 * H)
    assert overlapping_window([sunday_night], 0, 0, 30) is sunday_night
    assert overlapping_window([sunday_night], 0, 1 * H, 2 * H) is None


# --------------------------------------------------------------------------- properties of any calendar

_windows = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1439), st.integers(30, 1439)).map(
    lambda w: (w[0], w[1], w[1] + w[2] if w[1] + w[2] <= 1440 else w[1] + w[2] - 1440)), min_size=1, max_size=6)
_starts = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC))


@settings(max_examples=200, deadline=None)
@given(windows=_windows, start=_starts, minutes=st.integers(0, 3000), zone=st.sampled_from(
    ["Europe/Berlin", "America/New_York", "Asia/Tehran", "Australia/Lord_Howe", "UTC"]))
def test_the_minutes_added_are_the_minutes_counted_back(windows, start, minutes, zone):
    """Whatever the windows (overlapping, overnight, in a zone with odd DST), the business minutes between a
    start and the due time computed from it are the minutes that were added, and due times never go back."""
    calendar = Calendar(ZoneInfo(zone), windows, frozenset({date(2026, 12, 25), date(2027, 3, 28)}))
    start = start.replace(second=0, microsecond=0)
    due = add_minutes(start, minutes, calendar)
    assert due >= start
    assert minutes_between(start, due, calendar) == minutes
    assert add_minutes(start, minutes + 1, calendar) > due
