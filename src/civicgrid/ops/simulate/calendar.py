"""The simulation's calendar: local days as epoch ranges, working days and deadlines, precomputed per day."""

from __future__ import annotations

import bisect
import random
from datetime import date, datetime, time, timedelta, tzinfo

import chinese_calendar

from civicgrid.cases.deadlines import is_workday, overrides_between

# Room after the last simulated day for deadlines (longest item, extensions, reopen) to land in.
TAIL_DAYS = 400
# Cases per day relative to an average day, by month (summer heat, water and power; the Spring
# Festival in February; heating complaints in winter).
MONTH_FACTOR = (0.95, 0.82, 1.0, 1.0, 1.04, 1.1, 1.2, 1.18, 1.04, 0.95, 1.0, 1.06)
# Monday is the busiest day; weekends are quieter.
WEEKDAY_FACTOR = (1.15, 1.08, 1.05, 1.03, 1.0, 0.78, 0.72)
HOLIDAY_FACTOR = 0.55  # an official holiday (国庆, 春节…) on a weekday
MAKEUP_FACTOR = 1.0  # a weekend make-up working day (调休) is a working day like any other
GROWTH_PER_YEAR = 0.15  # the platform gains callers as residents learn about it


class Calendar:
    """Local days from `first` to `last` + TAIL_DAYS: their epoch start, and whether they are working days.

    Working days come from cases.deadlines (the official calendar and admin overrides), read once, so
    a deadline costs two list look-ups instead of a query.
    """

    def __init__(self, *, first: date, last: date, zone: tzinfo) -> None:
        self.first, self.last, self.zone = first, last, zone
        end = last + timedelta(days=TAIL_DAYS)
        overrides = overrides_between(first, end)
        self.days = [first + timedelta(days=i) for i in range((end - first).days + 2)]
        self.starts = [_epoch(datetime.combine(day, time.min, zone)) for day in self.days]
        self.workday = [is_workday(day, overrides) for day in self.days]
        # positions[k] is the index of the (k+1)-th working day: the n-th working day after day i is
        # positions[counted[i] + n - 1], where counted[i] = working days up to and including day i.
        self.positions = [i for i, working in enumerate(self.workday) if working]
        self.counted: list[int] = []
        total = 0
        for working in self.workday:
            total += working
            self.counted.append(total)

    def index(self, moment: int) -> int:
        """The local day holding the epoch second `moment` (as an index into `days`)."""
        return bisect.bisect_right(self.starts, moment) - 1

    def resolve_deadline(self, moment: int, working_days: int) -> int:
        """deadlines.resolve_deadline: 24:00 local of the n-th working day after the local day of `moment`."""
        day = self.positions[self.counted[self.index(moment)] + working_days - 1]
        return self.starts[day + 1]

    def extend_deadline(self, deadline: int, working_days: int) -> int:
        """deadlines.extend_deadline: the deadline moved by more working days."""
        return self.resolve_deadline(deadline - 1, working_days)

    def local(self, moment: int) -> datetime:
        return datetime.fromtimestamp(moment, self.zone)

    def day_weights(self, rng: random.Random, *, now: int, hour_share: list[float]) -> list[float]:
        """How many cases each simulated day gets, relative to the others (today only up to `now`)."""
        span = max((self.last - self.first).days, 1)
        weights = []
        for i, day in enumerate(self.days[: (self.last - self.first).days + 1]):
            weight = _day_factor(day, self.workday[i]) * (1 + GROWTH_PER_YEAR * i / 365 * min(1, 365 / span))
            weight *= rng.uniform(0.9, 1.1)
            if self.starts[i + 1] > now:
                elapsed = max(0, now - self.starts[i]) / 3600
                whole = int(elapsed)
                weight *= sum(hour_share[:whole]) + hour_share[min(whole, 23)] * (elapsed - whole)
            weights.append(max(weight, 0.0))
        return weights


def _day_factor(day: date, working: bool) -> float:
    factor = MONTH_FACTOR[day.month - 1]
    if working:
        return factor * (MAKEUP_FACTOR if day.weekday() >= 5 else WEEKDAY_FACTOR[day.weekday()])
    if day.weekday() < 5 or _named_holiday(day):
        return factor * HOLIDAY_FACTOR
    return factor * WEEKDAY_FACTOR[day.weekday()]


def _named_holiday(day: date) -> bool:
    try:
        return bool(chinese_calendar.get_holiday_detail(day)[1])
    except NotImplementedError:  # a year the package does not know yet
        return False


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def apportion(total: int, weights: list[float], rng: random.Random) -> list[int]:
    """Split `total` into whole counts proportional to `weights` (largest remainders, ties at random)."""
    whole = sum(weights)
    if whole <= 0:
        weights, whole = [1.0] * len(weights), float(len(weights))
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    left = total - sum(counts)
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], rng.random()))
    for i in order[:left]:
        counts[i] += 1
    return counts
