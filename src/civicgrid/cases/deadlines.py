"""Deadlines: response in clock hours, resolution in working days on the Chinese calendar (调休 aware)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import chinese_calendar
from django.utils import timezone

from civicgrid.cases.models import CalendarOverride


def is_workday(day: date, overrides: dict[date, bool] | None = None) -> bool:
    """Official calendar with make-up days, corrected by admin overrides; weekdays beyond its years."""
    if overrides is not None and day in overrides:
        return overrides[day]
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # The package knows only announced years; until an admin enters the new year's overrides,
        # Monday–Friday is the best guess.
        return day.weekday() < 5


def overrides_between(start: date, end: date) -> dict[date, bool]:
    return dict(
        CalendarOverride.objects.filter(day__gte=start, day__lte=end).values_list("day", "is_workday")
    )


def working_day_after(start: date, days: int) -> date:
    """The `days`-th working day after `start` (start itself not counted)."""
    # 3 weeks per 5 working days comfortably covers the longest holiday (Spring Festival).
    overrides = overrides_between(start, start + timedelta(days=days * 3 + 30))
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_workday(day, overrides):
            left -= 1
    return day


def resolve_deadline(start: datetime, working_days: int) -> datetime:
    """End of the `working_days`-th working day after `start`, local time (24:00 of that day)."""
    local_start = timezone.localtime(start)
    last = working_day_after(local_start.date(), working_days)
    return timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))


def response_deadline(start: datetime, hours: int) -> datetime:
    """Response deadlines run in clock hours: an emergency does not wait for Monday."""
    return start + timedelta(hours=hours)


def extend_deadline(deadline: datetime, working_days: int) -> datetime:
    """Move a resolution deadline by more working days (an approved extension)."""
    return resolve_deadline(deadline - timedelta(microseconds=1), working_days)


def is_overdue(*, deadline: datetime | None, done_at: datetime | None, now: datetime) -> bool:
    """Derived, never stored: late when not done by the deadline (or done after it)."""
    if deadline is None:
        return False
    return (done_at or now) > deadline
