"""Business-time arithmetic (pure): the weekly hours and holidays a business-time SLA clock counts in, the
instant some business minutes after another, and the business minutes between two instants."""
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
DEFAULT_HOURS = {weekday: (9 * 60, 17 * 60) for weekday in range(5)}
# A clock counting business time gives up after this many calendar days without enough open hours.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class Calendar:
    """Weekly business hours (weekday → (opening, closing) minutes after local midnight; closing may be
    1440, the next midnight) and holidays (local dates), in one time zone."""

    zone: ZoneInfo
    hours: Mapping = field(default_factory=lambda: dict(DEFAULT_HOURS))
    holidays: frozenset = frozenset()

    def window(self, day: date):
        """(opening, closing) of local ``day`` as UTC instants, or None on a closed day. Local times
        are turned into instants on that day, so a DST change shortens or lengthens only the night."""
        if day in self.holidays or day.weekday() not in self.hours:
            return None
        opens, closes = self.hours[day.weekday()]
        return _instant(day, opens, self.zone), _instant(day, closes, self.zone)


def _instant(day, minute, zone):
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)


def add_minutes(start: datetime, minutes: int, calendar: Calendar | None = None) -> datetime:
    """The instant ``minutes`` after ``start``: wall-clock minutes when ``calendar`` is None, otherwise
    minutes within its business hours (a start outside them counts from the next opening)."""
    if calendar is None:
        return start + timedelta(minutes=minutes)
    if not calendar.hours:
        raise ValueError("a business calendar needs at least one open weekday")
    remaining = timedelta(minutes=minutes)
    day = start.astimezone(calendar.zone).date()
    for _i in range(_MAX_DAYS):
        window = calendar.window(day)
        if window is not None:
            begin, end = max(window[0], start), window[1]
            if begin < end or (begin == end and not remaining):
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)
    raise ValueError("no business hours within ten years")


def minutes_between(start: datetime, end: datetime, calendar: Calendar | None = None) -> int:
    """Whole minutes from ``start`` to ``end`` (0 when end is not later): wall-clock minutes when
    ``calendar`` is None, otherwise only those within its business hours."""
    if end <= start:
        return 0
    if calendar is None:
        return int((end - start).total_seconds() // 60)
    total = timedelta()
    day, last = start.astimezone(calendar.zone).date(), end.astimezone(calendar.zone).date()
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            overlap = min(window[1], end) - max(window[0], start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)
