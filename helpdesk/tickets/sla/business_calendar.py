"""Business-time arithmetic (pure): the weekly windows and holidays a business-time SLA clock counts in, the
instant some business minutes after another, and the business minutes between two instants.

A window belongs to the weekday it opens on and may run past midnight into the next day (a night shift
Monday 22:00–06:00). Windows are local times in the calendar's zone, turned into instants day by day, so a DST
change lengthens or shortens whatever window spans it by the hour it adds or removes. A holiday is a whole
local date: no business time counts on it, whichever day's window that time belongs to. An around-the-clock
(24/7) calendar counts every minute and ignores holidays."""
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
# (weekday, opens, closes) minutes after local midnight; Monday to Friday, 09:00 to 17:00.
DEFAULT_WINDOWS = tuple((weekday, 9 * 60, 17 * 60) for weekday in range(5))
# A clock counting business time gives up after this many calendar days without enough open hours.
_MAX_DAYS = 3660


def window_spans(opens: int, closes: int):
    """The parts of a window as (day offset, start, end) minutes within a local day: one part, or two when it
    closes at or before it opens (the second part is on the next day)."""
    if closes > opens:
        return [(0, opens, closes)]
    return [(0, opens, MINUTES_PER_DAY)] + ([(1, 0, closes)] if closes > 0 else [])


def _merge(spans):
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _day_spans(windows):
    """For each weekday, the merged (start, end) local minutes of business time on a date of that weekday."""
    days = [[] for _weekday in range(7)]
    for weekday, opens, closes in windows:
        for offset, start, end in window_spans(opens, closes):
            days[(weekday + offset) % 7].append((start, end))
    return tuple(_merge(spans) for spans in days)


@dataclass(frozen=True)
class Calendar:
    """Weekly windows ((weekday, opens, closes) minutes after local midnight, see ``window_spans``) and holidays
    (local dates) in one time zone; or, with ``around_the_clock``, every minute of every day."""

    zone: ZoneInfo
    windows: tuple = DEFAULT_WINDOWS
    holidays: frozenset = frozenset()
    around_the_clock: bool = False
    _days: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "windows", tuple(tuple(w) for w in self.windows))
        object.__setattr__(self, "_days", _day_spans(self.windows))

    def spans(self, day: date):
        """The business time of local date ``day`` as (start, end) UTC instants in order; none on a holiday."""
        if day in self.holidays:
            return []
        result = []
        for start, end in self._days[day.weekday()]:
            begin, finish = _instant(day, start, self.zone), _instant(day, end, self.zone)
            if result and begin < result[-1][1]:  # local times in a DST gap can come out of order
                begin = result[-1][1]
            if begin < finish:
                result.append((begin, finish))
        return result

    @property
    def has_business_time(self) -> bool:
        return self.around_the_clock or any(self._days)


def _instant(day, minute, zone):
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)


def _counts_wall_clock(calendar):
    return calendar is None or calendar.around_the_clock


def add_minutes(start: datetime, minutes: int, calendar: Calendar | None = None) -> datetime:
    """The instant ``minutes`` after ``start``: wall-clock minutes when ``calendar`` is None or around the clock,
    otherwise minutes within its business time (a start outside it counts from the next opening)."""
    if _counts_wall_clock(calendar):
        return start + timedelta(minutes=minutes)
    if not calendar.has_business_time:
        raise ValueError("a business calendar needs at least one window")
    remaining = timedelta(minutes=minutes)
    # A window of the previous local date can still be open at ``start`` only if it ran past midnight, and
    # those parts are listed under the date they run on: starting at start's own date is enough.
    day = start.astimezone(calendar.zone).date()
    for _i in range(_MAX_DAYS):
        for opens, closes in calendar.spans(day):
            if closes < start:  # (at closes == start, adding nothing stays at start)
                continue
            begin = max(opens, start)
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        day += timedelta(days=1)
    raise ValueError("no business hours within ten years")


def minutes_between(start: datetime, end: datetime, calendar: Calendar | None = None) -> int:
    """Whole minutes from ``start`` to ``end`` (0 when end is not later): wall-clock minutes when ``calendar``
    is None or around the clock, otherwise only those within its business time."""
    if end <= start:
        return 0
    if _counts_wall_clock(calendar):
        return int((end - start).total_seconds() // 60)
    total = timedelta()
    day, last = start.astimezone(calendar.zone).date(), end.astimezone(calendar.zone).date()
    while day <= last:
        for opens, closes in calendar.spans(day):
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)
