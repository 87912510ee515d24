"""The fast path: every statistic of DESIGN §4 for whole days, summed from the rollups, in either
scope (place subtree, handling unit) and grouped by unit, handler, domain, item, channel, kind or day.

A period is whole local days [start, end). The figures equal metrics.py's direct recomputation from
the event log for the same days (tests/test_figures_property.py checks it on random histories); they
lag the log by the worker's cycle, the time it takes to fold a change into the rollups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db.models import BigIntegerField, F, Q, QuerySet, Sum, Value, When
from django.db.models import Case as DbCase
from django.utils.translation import gettext as _

from civicgrid.analytics.metrics import Ratio
from civicgrid.analytics.models import (
    DAILY_COUNTERS,
    DailyFigure,
    DueFigure,
    MonthlyDueFigure,
    MonthlyFigure,
    PlaceDailyFigure,
    PlaceDueFigure,
    PlaceMonthlyDueFigure,
    PlaceMonthlyFigure,
)
from civicgrid.cases.models import Channel, Kind
from civicgrid.catalogue.models import Item
from civicgrid.org.models import Unit

GROUPS = ("unit", "handler", "domain", "item", "channel", "kind", "day")


@dataclass(frozen=True)
class Figures:
    """Every figure of one scope and period: counts, and ratios as numerator / denominator."""

    accepted: int  # 受理量
    due: int  # 应办结
    overdue: int  # 超期: open past the resolution deadline at the end of the period
    supervised: int  # 督办: cases first put under supervision in the period
    proactive_share: Ratio  # 主动发现占比
    repeat_share: Ratio  # 重复诉求占比
    response_rate: Ratio  # 响应率
    closure_rate: Ratio  # 办结率
    on_time_rate: Ratio  # 按期办结率
    satisfaction: Ratio  # 满意率
    satisfaction_weighted: Ratio  # 满意率 (satisfied + w × basically satisfied)
    participation: Ratio  # 参评率
    solved_rate: Ratio  # 解决率
    return_rate: Ratio  # 退单率
    reopen_rate: Ratio  # 重办率

    def ratios(self) -> dict[str, Ratio]:
        return {name: value for name, value in vars(self).items() if isinstance(value, Ratio)}


@dataclass(frozen=True)
class Group:
    key: str  # a unit code, item code, domain code, channel, kind or ISO day
    label: str
    figures: Figures


@dataclass(frozen=True)
class Report:
    total: Figures
    groups: list[Group]


def weight() -> Decimal:
    """w of the weighted satisfaction (DESIGN §4, default 0.9)."""
    return Decimal(str(settings.STATISTICS["basic_weight"]))


def assemble(c: dict[str, int], *, overdue: int) -> Figures:
    """Figures from summed counters (DailyFigure's and DueFigure's, by name)."""

    def g(name: str) -> int:
        return int(c.get(name) or 0)

    return Figures(
        accepted=g("accepted"),
        due=g("due"),
        overdue=overdue,
        supervised=g("supervised"),
        proactive_share=Ratio(g("proactive"), g("accepted")),
        repeat_share=Ratio(g("repeated"), g("accepted")),
        response_rate=Ratio(g("responded"), g("assigned")),
        closure_rate=Ratio(g("closed"), g("due")),
        on_time_rate=Ratio(g("on_time"), g("due")),
        satisfaction=Ratio(g("satisfied") + g("basically"), g("evaluations")),
        satisfaction_weighted=Ratio(g("satisfied") + weight() * g("basically"), g("evaluations")),
        participation=Ratio(g("evaluations"), g("resolves")),
        solved_rate=Ratio(g("solved"), g("evaluations")),
        return_rate=Ratio(g("returns"), g("dispatches")),
        reopen_rate=Ratio(g("reopens"), g("resolves")),
    )


def figures(
    *,
    start: date,
    end: date,
    place: Unit | None = None,
    handler: Unit | None = None,
    group_by: str | None = None,
    level: str | None = None,
) -> Report:
    """Every figure over the days [start, end) for cases in `place`'s subtree (everywhere when None)
    and, with `handler`, only what that unit handled; per group when `group_by` is one of GROUPS.
    With group_by="unit", `level` (a Unit.Kind: street, community, grid) groups by the area of that
    kind holding the case instead of the child of `place`."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(group_by)
    if group_by is None or group_by == "day":
        return _total_and_days(start=start, end=end, place=place, handler=handler, group_by=group_by)
    found = tally(start=start, end=end, place=place, handler=handler, group_by=group_by)
    return regrouped(found, group_by=group_by, place=place, level=level)


@dataclass(frozen=True)
class Tally:
    """Counter sums and 超期 per value of one rollup column (a place, an item…), not yet merged into
    groups: one read that serves several groupings of the same column."""

    sums: dict[Any, dict[str, int]]
    late: dict[Any, int]

    @cached_property
    def total(self) -> Figures:
        """The scope's figures: the column partitions its cases, so the total is the sum."""
        return assemble(_added(self.sums.values()), overdue=sum(self.late.values()))


def tally(
    *, start: date, end: date, place: Unit | None = None, handler: Unit | None = None, group_by: str
) -> Tally:
    """What figures(group_by=…) reads, for any grouping but "day" (whose days are not a partition)."""
    if group_by not in GROUPS or group_by == "day":
        raise ValueError(group_by)
    daily, due, open_ = _reads(start=start, end=end, place=place, handler=handler, group_by=group_by)
    column = _COLUMNS[group_by]
    return Tally(_sums(daily, due, start=start, end=end, column=column), _overdue(open_, column))


def regrouped(found: Tally, *, group_by: str, place: Unit | None, level: str | None = None) -> Report:
    """The report of `found` grouped as figures(group_by=…, level=…) groups it; `found` must have
    been read with the same place and a grouping on the same column."""
    return Report(total=found.total, groups=_regroup(group_by, place, found.sums, found.late, level=level))


def _reads(
    *,
    start: date,
    end: date,
    place: Unit | None,
    handler: Unit | None,
    group_by: str | None,
    by_day: bool = False,
) -> tuple[QuerySet[Any], QuerySet[Any], QuerySet[Any]]:
    """The period's counter rows, its due rows and the rows of cases open past their deadline at its
    end, each from the smallest rollup that holds what the grouping needs (daily rows `by_day`)."""
    scope = _scope(place=place, handler=handler)
    # Item, channel and kind live in the full rollups only; everything else reads the slim ones.
    day_model, due_model = _TABLES[group_by in _NEED_FULL, not by_day and _whole_months(start, end)]
    daily = day_model.objects.filter(scope, day__gte=start, day__lt=end)
    due = due_model.objects.filter(scope, due_day__gte=start, due_day__lt=end)
    open_ = due_model.objects.filter(scope, due_day__lt=end, ended_day__gte=end).filter(LATE)
    return daily, due, open_


def _total_and_days(
    *, start: date, end: date, place: Unit | None, handler: Unit | None, group_by: str | None
) -> Report:
    """The period's total and, with group_by="day", each day's own figures."""
    daily, due, open_ = _reads(start=start, end=end, place=place, handler=handler, group_by=None)
    # A day's own figures are not a share of the period's (its closure and overdue are judged at the
    # end of that day), so the period's total is read on its own.
    sums, late = _sums(daily, due, start=start, end=end, column=None), _overdue(open_, None)
    total = assemble(sums.get(None, {}), overdue=late.get(None, 0))
    if group_by is None:
        return Report(total=total, groups=[])
    daily, due, _open = _reads(start=start, end=end, place=place, handler=handler, group_by=None, by_day=True)
    sums = _sums(daily, due, start=start, end=end, column="day")
    late = _overdue_by_day(False, _scope(place=place, handler=handler), start=start, end=end)
    return Report(total=total, groups=_regroup("day", place, sums, late, level=None))


def per_day(
    *, start: date, end: date, place: Unit | None, names: tuple[str, ...]
) -> dict[date, dict[str, int]]:
    """The daily counters `names` (DAILY_COUNTERS) on each day of [start, end) with any, in `place`'s
    subtree: one read of the slim daily rollup, for charts that need no more than counts per day."""
    counting = Q()
    for name in names:  # rows where all are 0 add nothing; leaving them out lets an index serve
        counting |= Q(**{f"{name}__gt": 0})
    rows = (
        PlaceDailyFigure.objects.filter(
            _scope(place=place, handler=None), counting, day__gte=start, day__lt=end
        )
        .values("day")
        .order_by("day")
        .annotate(**{name: Sum(name) for name in names})
        .values_list("day", *names)
    )
    return {day: {name: int(n or 0) for name, n in zip(names, sums, strict=True)} for day, *sums in rows}


def accepted_counts(
    *, start: date, end: date, place: Unit | None, by: tuple[str, ...]
) -> dict[tuple[Any, ...], int]:
    """受理量 over the days [start, end) in `place`'s subtree per value of the columns `by`
    (`place_id`, `item_id`; 0 for no item), from the same rollups as figures(): the hot spots'
    counts, equal to the figures' `accepted`. Values with no case are left out."""
    counts, _due = _TABLES["item_id" in by, _whole_months(start, end)]
    rows = (
        counts.objects.filter(_scope(place=place, handler=None), day__gte=start, day__lt=end, accepted__gt=0)
        .values(*by)
        .order_by()
        .annotate(n=Sum("accepted"))
    )
    return {tuple(row[column] for column in by): int(row["n"]) for row in rows}


def accepted_by_area_item(
    *, start: date, split: date, end: date, areas: Iterable[Unit]
) -> dict[tuple[int, int], tuple[int, int]]:
    """受理量 per area × item over the days [start, split) and [split, end), summed in the database:
    the whole months inside [start, split) from the monthly rollup, the other days from the daily
    one (two reads). `areas` are disjoint subtrees (the units of one kind, within the place asked); a
    case counts for the area holding it, cases in none of them and cases without an item are left
    out. The areas are the scope: rows outside them fall in no group, which costs less than
    filtering them first."""
    holding = [
        When(place_id__in=Unit.objects.filter(path__startswith=unit.path).values("pk"), then=Value(unit.pk))
        for unit in areas
    ]
    if not holding:
        return {}
    # [first, last) are the whole months of [start, split), if any.
    first = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    last = split.replace(day=1)
    days = Q(day__gte=start, day__lt=end)
    if first < last:
        days &= Q(day__lt=first) | Q(day__gte=last)
    reads = [(DailyFigure, days)] + (
        [(MonthlyFigure, Q(day__gte=first, day__lt=last))] if first < last else []
    )
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for model, when in reads:
        rows = (
            model.objects.filter(when, accepted__gt=0, item_id__gt=0)
            .annotate(area=DbCase(*holding, output_field=BigIntegerField()))
            .values("area", "item_id")
            .order_by()
            .annotate(
                before=Sum("accepted", filter=Q(day__lt=split), default=0),
                after=Sum("accepted", filter=Q(day__gte=split), default=0),
            )
            .values_list("area", "item_id", "before", "after")
        )
        for pk, item, before, after in rows:
            if pk is not None:
                was = out.get((pk, item), (0, 0))
                out[pk, item] = (was[0] + int(before), was[1] + int(after))
    return out


def per_domain(counts: dict[int, int]) -> dict[tuple[str, str], int]:
    """Counts per item id (0: none) summed per domain, as (code, name), the grouping by domain does."""
    name_of = _by_domain(None, counts)
    out: dict[tuple[str, str], int] = defaultdict(int)
    for pk, n in counts.items():
        out[name_of(pk)] += n
    return out


def _added(rows: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for row in rows:
        for name, value in row.items():
            out[name] += int(value or 0)
    return out


def _whole_months(start: date, end: date) -> bool:
    """Whether [start, end) is whole calendar months: the monthly rollups answer for it, since every
    day it reads and every day it compares with (its end, for 办结 and 超期) is a month's first."""
    return start.day == 1 and end.day == 1


_NEED_FULL = frozenset({"domain", "item", "channel", "kind"})
# Implied by "due before a moment and open at it"; spelled out so that the partial open_idx serves.
LATE = Q(ended_day__gt=F("due_day"))
# (full, whole months) → the counts and the due counts to read.
_TABLES: dict[tuple[bool, bool], tuple[type[Any], type[Any]]] = {
    (True, False): (DailyFigure, DueFigure),
    (False, False): (PlaceDailyFigure, PlaceDueFigure),
    (True, True): (MonthlyFigure, MonthlyDueFigure),
    (False, True): (PlaceMonthlyFigure, PlaceMonthlyDueFigure),
}
_COLUMNS = {
    "unit": "place_id",
    "handler": "handler_id",
    "domain": "item_id",
    "item": "item_id",
    "channel": "channel",
    "kind": "kind",
    "day": "day",
}


def _scope(*, place: Unit | None, handler: Unit | None) -> Q:
    scope = Q()
    if place is not None:
        scope &= Q(place_id__in=Unit.objects.filter(path__startswith=place.path).values("pk"))
    if handler is not None:
        scope &= Q(handler_id=handler.pk)
    return scope


def _sums(
    daily: QuerySet[Any], due: QuerySet[Any], *, start: date, end: date, column: str | None
) -> dict[Any, dict[str, int]]:
    """Counter sums per value of `column` (one group None when not grouped): two queries."""
    out: dict[Any, dict[str, int]] = defaultdict(dict)
    for value, row in _summed(daily, column, {c: Sum(c) for c in DAILY_COUNTERS}):
        out[value].update(row)
    due_column = "due_day" if column == "day" else column
    sums = {
        "due": Sum("cases"),
        # Resolved by the end of the period: of each day's own period when grouped by day.
        "closed": Sum(
            "cases", filter=Q(resolved_day__lte=F("due_day")) if column == "day" else Q(resolved_day__lt=end)
        ),
        "on_time": Sum("cases", filter=Q(on_time=True)),
    }
    for value, row in _summed(due, due_column, sums):
        out[value].update(row)
    return out


def _summed(
    rows: QuerySet[Any], column: str | None, sums: dict[str, Any]
) -> list[tuple[Any, dict[str, Any]]]:
    """(value of `column`, its sums) per value, or one (None, sums) when not grouped."""
    if column is None:
        return [(None, rows.aggregate(**sums))]
    return [(row.pop(column), row) for row in rows.values(column).order_by(column).annotate(**sums)]


def _overdue(open_: QuerySet[Any], column: str | None) -> dict[Any, int]:
    if column is None:
        return {None: int(open_.aggregate(n=Sum("cases"))["n"] or 0)}
    return {
        row[column]: int(row["n"]) for row in open_.values(column).order_by(column).annotate(n=Sum("cases"))
    }


def _overdue_by_day(full: bool, scope: Q, *, start: date, end: date) -> dict[Any, int]:
    """超期 at the end of each day of the period: due before that end and ended at or after it.

    Three small reads instead of one over everything ended after `start`: the cases due before the
    period and still open at its end count on every day (one sum, from the monthly rows when the
    period is whole months); only those due in the period or ended in it need their days.
    """
    before = Q(due_day__lt=start, ended_day__gte=end) & LATE
    model = _TABLES[full, False][1]
    sums_before = _TABLES[full, _whole_months(start, end)][1]
    throughout = int(sums_before.objects.filter(scope, before).aggregate(n=Sum("cases"))["n"] or 0)
    due_in = Q(due_day__gte=start, due_day__lt=end, ended_day__gt=start)
    ended_in = Q(due_day__lt=start, ended_day__gt=start, ended_day__lt=end) & LATE
    # A row counts on the days d with due_day <= d < ended_day: add it where that run starts and take
    # it off where it stops, then sweep the period once (not once per day over every row).
    change: dict[date, int] = defaultdict(int)
    for part in (due_in, ended_in):
        rows = (
            model.objects.filter(scope, part)
            .values("due_day", "ended_day")
            .order_by()
            .annotate(n=Sum("cases"))
        )
        for row in rows:
            first, stop = max(row["due_day"], start), min(row["ended_day"], end)
            if first < stop:
                change[first] += int(row["n"])
                change[stop] -= int(row["n"])
    late: dict[Any, int] = {}
    running, day = throughout, start
    while day < end:
        running += change.get(day, 0)
        late[day] = running
        day += timedelta(days=1)
    return late


def _regroup(
    group_by: str,
    place: Unit | None,
    sums: dict[Any, dict[str, int]],
    late: dict[Any, int],
    *,
    level: str | None,
) -> list[Group]:
    """Merge raw column values into the asked groups (a place into its child area, an item into its
    domain), with labels, in a stable order."""
    values = set(sums) | set(late)
    name_of = _by_level(level, values) if group_by == "unit" and level else _NAMERS[group_by](place, values)
    merged: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    overdue: dict[tuple[str, str], int] = defaultdict(int)
    for value, counters in sums.items():
        bucket = merged[name_of(value)]
        for counter, n in counters.items():
            bucket[counter] += int(n or 0)
    for value, n in late.items():
        overdue[name_of(value)] += n
        merged.setdefault(name_of(value), defaultdict(int))  # a group with only overdue cases shows
    return [
        Group(key=key, label=label, figures=assemble(merged[(key, label)], overdue=overdue[(key, label)]))
        for key, label in sorted(merged)
    ]


Namer = Callable[[Any], tuple[str, str]]


def _by_child(place: Unit | None, values: Iterable[Any]) -> Namer:
    """A case's place → the child area of `place` holding it (the place itself when placed there)."""
    depth = 0 if place is None else place.path.count("/") - 1
    units = {u.pk: u for u in Unit.objects.filter(pk__in=[v for v in values if v])}
    heads = {u.path: u for u in Unit.objects.filter(path__in={_head(u.path, depth) for u in units.values()})}

    def name(pk: Any) -> tuple[str, str]:
        unit = units.get(pk)
        head = heads.get(_head(unit.path, depth)) if unit else None
        return (head.code, head.name) if head else ("", _("（未知）"))

    return name


def _by_level(level: str, values: Iterable[Any]) -> Namer:
    """A case's place → its ancestor (or itself) of kind `level`; cases placed above that level
    (on a street, for a grouping by community) fall in one group of their own."""
    units = {u.pk: u for u in Unit.objects.filter(pk__in=[v for v in values if v])}
    prefixes = {
        "/".join(u.path.split("/")[:n]) + "/" for u in units.values() for n in range(2, u.path.count("/") + 1)
    }
    heads = {u.path: u for u in Unit.objects.filter(path__in=prefixes, kind=level)}

    def name(pk: Any) -> tuple[str, str]:
        unit = units.get(pk)
        parts = unit.path.split("/") if unit else []
        for n in range(len(parts), 1, -1):
            head = heads.get("/".join(parts[:n]) + "/")
            if head is not None:
                return head.code, head.name
        return "", _("（上级区域）")

    return name


def _head(path: str, depth: int) -> str:
    """'/D01/S01/C03/' at depth 1 → '/D01/S01/': the ancestor one level below the scope."""
    return "/".join(path.split("/")[: depth + 2]) + "/"


def _by_unit(place: Unit | None, values: Iterable[Any]) -> Namer:
    units = {u.pk: u for u in Unit.objects.filter(pk__in=[v for v in values if v])}
    return lambda pk: (units[pk].code, units[pk].name) if pk in units else ("", _("（无承办单位）"))


def _by_item(place: Unit | None, values: Iterable[Any]) -> Namer:
    items = {i.pk: i for i in Item.objects.filter(pk__in=[v for v in values if v])}
    return lambda pk: (items[pk].code, items[pk].name) if pk in items else ("", _("（未分类）"))


def _by_domain(place: Unit | None, values: Iterable[Any]) -> Namer:
    items = {i.pk: i for i in Item.objects.select_related("domain").filter(pk__in=[v for v in values if v])}
    return lambda pk: (items[pk].domain.code, items[pk].domain.name) if pk in items else ("", _("（未分类）"))


def _by_choice(labels: dict[str, str]) -> Callable[[Unit | None, Iterable[Any]], Namer]:
    return lambda place, values: lambda value: (value, str(labels.get(value, value)))


def _by_day(place: Unit | None, values: Iterable[Any]) -> Namer:
    return lambda day: (day.isoformat(), day.isoformat())


_NAMERS: dict[str, Callable[[Unit | None, Iterable[Any]], Namer]] = {
    "unit": _by_child,
    "handler": _by_unit,
    "item": _by_item,
    "domain": _by_domain,
    "channel": _by_choice({value: str(label) for value, label in Channel.choices}),
    "kind": _by_choice({value: str(label) for value, label in Kind.choices}),
    "day": _by_day,
}
