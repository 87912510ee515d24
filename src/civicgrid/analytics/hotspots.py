"""Hot spots and trends (苗头性问题): top places and items, repeated requests, trend alerts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any, Literal

from django.conf import settings
from django.db.models import Case as DbCase
from django.db.models import F, Min, Q, QuerySet, Value, When, Window
from django.db.models.functions import Lag, Lead
from django.utils.translation import gettext as _

from civicgrid.analytics.figures import accepted_by_area_item, accepted_counts
from civicgrid.analytics.metrics import Ratio
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case, Event
from civicgrid.cases.states import Action
from civicgrid.catalogue.models import Item
from civicgrid.org.models import PATH_SEPARATOR, Building, Unit
from civicgrid.org.phones import mask_phone

# 重复诉求 (DESIGN §4): an earlier case at most this long before, inclusive.
REPEAT_WINDOW = timedelta(days=30)
# Area levels from the top; grouping happens at one of them, at or below the place asked.
LEVELS: tuple[str, ...] = tuple(Unit.AREA_KINDS)
MAX_LIMIT = 100


def _counted(*, start: datetime, end: datetime, place: Unit | None) -> QuerySet[Case]:
    """The cases that count, as for metrics.accepted: an accept event in [start, end) (found by the
    (action, at) index), located in `place`'s subtree (everywhere when None), no approved exclusion."""
    accepted = Event.objects.filter(action=Action.ACCEPT, at__gte=start, at__lt=end).values("case_id")
    found = Case.objects.filter(pk__in=accepted, excluded_at__isnull=True)
    return found if place is None else found.filter(place__path__startswith=place.path)


def grouping_level(*, place: Unit | None, level: str | None) -> str:
    """The unit kind to group at: `level` when at or below `place`'s, by default the one just below."""
    if place is not None and place.kind not in LEVELS:
        raise InvalidInput("place", _("须为区域单位（区、街道、社区或网格）"))
    rank = -1 if place is None else LEVELS.index(place.kind)
    if level is None:
        return LEVELS[min(rank + 1, len(LEVELS) - 1)]
    if level not in LEVELS:
        raise InvalidInput("level", _("须为 %(levels)s 之一") % {"levels": "、".join(LEVELS)})
    if LEVELS.index(level) < rank:
        raise InvalidInput("level", _("不能高于所选区域的层级"))
    return level


class _Grouper:
    """Maps a case's place (by path) to the unit of one kind above or at it, within the place asked."""

    def __init__(self, *, place: Unit | None, level: str) -> None:
        prefix = "" if place is None else place.path
        self.units = {unit.path: unit for unit in Unit.objects.filter(kind=level, path__startswith=prefix)}

    def __call__(self, path: str) -> Unit | None:
        codes = [code for code in path.split(PATH_SEPARATOR) if code]
        for depth in range(len(codes), 0, -1):
            unit = self.units.get(PATH_SEPARATOR + PATH_SEPARATOR.join(codes[:depth]) + PATH_SEPARATOR)
            if unit is not None:
                return unit
        return None  # placed above the level (a case known only to its street, say)


# --- top places and items ------------------------------------------------------------------------


@dataclass(frozen=True)
class TopRow:
    key: str  # the unit or item code
    label: str
    count: int
    share: Ratio  # of all cases that count in the scope and period


@dataclass(frozen=True)
class TopList:
    """The rows with the most cases; `unattributed` counted cases have no unit at the level (placed
    higher) or no item, and are part of `total` but of no row."""

    total: int
    unattributed: int
    rows: list[TopRow]


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", _("须在 1 到 %(max)s 之间") % {"max": MAX_LIMIT})


def _top(tally: Counter[tuple[str, str] | None], limit: int) -> TopList:
    """The rows by count (then code); the None key holds the unattributed cases."""
    total = sum(tally.values())
    ranked = sorted(((k, n) for k, n in tally.items() if k is not None), key=lambda p: (-p[1], p[0][0]))
    rows = [
        TopRow(key=key, label=label, count=n, share=Ratio(n, total)) for (key, label), n in ranked[:limit]
    ]
    return TopList(total=total, unattributed=tally[None], rows=rows)


def top_places(
    *, start: date, end: date, place: Unit | None = None, level: str | None = None, limit: int = 10
) -> TopList:
    """The units of kind `level` (default: just below `place`) with the most cases accepted in the
    days [start, end), with their count and share of all the cases that count in `place`."""
    level = grouping_level(place=place, level=level)
    _check_limit(limit)
    counts = accepted_counts(start=start, end=end, place=place, by=("place_id",))
    return rank_places({pk: n for (pk,), n in counts.items()}, place=place, level=level, limit=limit)


def rank_places(counts: dict[int, int], *, place: Unit | None, level: str, limit: int) -> TopList:
    """top_places from 受理量 per place id (`counts`, in `place`'s subtree), grouped at `level`."""
    unit_of = _Grouper(place=place, level=level)
    paths = dict(Unit.objects.filter(pk__in=list(counts)).values_list("pk", "path"))
    tally: Counter[tuple[str, str] | None] = Counter()
    for pk, n in counts.items():
        unit = unit_of(paths[pk])
        tally[None if unit is None else (unit.code, unit.name)] += n
    return _top(tally, limit)


def top_items(*, start: date, end: date, place: Unit | None = None, limit: int = 10) -> TopList:
    """The catalogue items with the most cases accepted in the days [start, end) in `place`, with
    their count and share of all the cases that count there (cases without an item are
    `unattributed`)."""
    _check_limit(limit)
    by_item = accepted_counts(start=start, end=end, place=place, by=("item_id",))
    return rank_items({pk: n for (pk,), n in by_item.items()}, limit=limit)


def rank_items(counts: dict[int, int], *, limit: int) -> TopList:
    """top_items from 受理量 per item id (`counts`; 0 for cases without an item)."""
    items = Item.objects.in_bulk([pk for pk in counts if pk])
    tally: Counter[tuple[str, str] | None] = Counter()
    for pk, n in counts.items():
        tally[(items[pk].code, items[pk].name) if pk in items else None] += n
    return _top(tally, limit)


# --- repeated requests (重复诉求) -----------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a repeat is judged on: when the case was registered, the phone, the building and item."""

    id: int
    at: datetime  # created_at
    phone: str = ""
    building_id: int | None = None
    item_id: int | None = None


def repeats(later: Request, earlier: Request) -> bool:
    """True when `earlier` was registered first (then: lower id) at most 30 days before `later`, with
    the same phone or the same building and item (DESIGN §4, as metrics.repeat_share)."""
    if (earlier.at, earlier.id) >= (later.at, later.id) or later.at - earlier.at > REPEAT_WINDOW:
        return False
    if later.phone and later.phone == earlier.phone:
        return True
    spot = (later.building_id, later.item_id)
    return None not in spot and spot == (earlier.building_id, earlier.item_id)


def is_repeat(case: Request, others: Iterable[Request]) -> bool:
    """重复诉求: some case among `others` comes before `case` and repeats it (see `repeats`)."""
    return any(repeats(case, other) for other in others)


Basis = Literal["phone", "building_item"]
_KEYS: dict[Basis, tuple[str, ...]] = {
    "phone": ("reporter_phone",),
    "building_item": ("building_id", "item_id"),
}


@dataclass(frozen=True)
class RepeatGroup:
    """Cases of one key registered each at most 30 days after the previous one, holding a case
    accepted in the period (in the place) that repeats an earlier one. `numbers` lists the members
    in the place asked; `elsewhere` counts members outside it (the same phone calling about another
    area)."""

    basis: Basis
    key: str  # building/item codes, or the masked phone ("" when a reporter asked for secrecy)
    label: str
    numbers: list[str]
    elsewhere: int
    first: datetime
    last: datetime
    repeating: list[str]  # the members accepted in the period that repeat an earlier member

    @property
    def count(self) -> int:
        return len(self.numbers) + self.elsewhere


@dataclass(frozen=True)
class Repeats:
    by_phone: list[RepeatGroup]
    by_building_item: list[RepeatGroup]
    repeat_cases: int  # cases accepted in the period that repeat an earlier one, by either key, once


def _linked(*, basis: Basis, start: datetime, end: datetime, place: Unit | None) -> list[dict[str, Any]]:
    """Cases (not excluded, any status, anywhere) sharing a key with the cases that count, with a
    neighbour of that key at most 30 days before or after them, by key then registration: one query,
    a window pass over the key (the phone and building columns are indexed)."""
    keys = _KEYS[basis]
    counted = _counted(start=start, end=end, place=place).filter(**{f"{k}__isnull": False for k in keys})
    counted = counted.exclude(reporter_phone="") if basis == "phone" else counted
    earliest = counted.aggregate(at=Min("created_at"))["at"]
    if earliest is None:
        return []
    found = Case.objects.filter(
        excluded_at__isnull=True,
        created_at__gte=earliest - REPEAT_WINDOW,
        created_at__lt=end,
        **{f"{k}__in": counted.values(k) for k in keys},
    )
    partition, order = [F(k) for k in keys], [F("created_at").asc(), F("id").asc()]
    found = found.annotate(
        before=Window(Lag("created_at"), partition_by=partition, order_by=order),
        after=Window(Lead("created_at"), partition_by=partition, order_by=order),
        counts=DbCase(When(pk__in=counted.values("pk"), then=True), default=False),
        inside=DbCase(When(place__path__startswith=place.path, then=True), default=False)
        if place is not None
        else Value(True),
    ).filter(Q(before__gte=F("created_at") - REPEAT_WINDOW) | Q(after__lte=F("created_at") + REPEAT_WINDOW))
    fields = ("number", "created_at", "counts", "inside", "reporter_anonymous", "reporter_confidential")
    return list(found.order_by(*keys, "created_at", "id").values(*fields, *keys))


def _chains(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> Iterator[list[dict[str, Any]]]:
    """Each key's cases, split where two in a row are more than 30 days apart."""
    for _key, members in groupby(rows, key=lambda row: tuple(row[k] for k in keys)):
        chain: list[dict[str, Any]] = []
        for row in members:
            if chain and row["created_at"] - chain[-1]["created_at"] > REPEAT_WINDOW:
                yield chain
                chain = []
            chain.append(row)
        yield chain


def _groups(*, basis: Basis, start: datetime, end: datetime, place: Unit | None) -> list[RepeatGroup]:
    keys = _KEYS[basis]
    groups = []
    chains = list(_chains(_linked(basis=basis, start=start, end=end, place=place), keys))
    labels = _labels(basis, chains)
    for chain in chains:
        # Every member but the first has an earlier one within 30 days: it is a repeat.
        repeating = [row["number"] for row in chain[1:] if row["counts"]]
        if repeating:
            key, label = labels[chain[0]["number"]]
            inside = [row["number"] for row in chain if row["inside"]]
            first, last = chain[0]["created_at"], chain[-1]["created_at"]
            groups.append(
                RepeatGroup(basis, key, label, inside, len(chain) - len(inside), first, last, repeating)
            )
    groups.sort(key=lambda g: (-g.count, -g.last.timestamp(), g.repeating[0]))
    return groups


def _labels(basis: Basis, chains: list[list[dict[str, Any]]]) -> dict[str, tuple[str, str]]:
    """(key, label) by each chain's first number: the masked phone, withheld when a reporter of the
    chain asked for anonymity or secrecy; the building and the item."""
    if basis == "phone":
        secret = ("", _("（号码保密）"))
        return {
            chain[0]["number"]: secret
            if any(row["reporter_anonymous"] or row["reporter_confidential"] for row in chain)
            else (mask_phone(chain[0]["reporter_phone"]),) * 2
            for chain in chains
        }
    buildings = Building.objects.in_bulk({chain[0]["building_id"] for chain in chains})
    items = Item.objects.in_bulk({chain[0]["item_id"] for chain in chains})
    labels = {}
    for chain in chains:
        building, item = buildings[chain[0]["building_id"]], items[chain[0]["item_id"]]
        labels[chain[0]["number"]] = (f"{building.code}/{item.code}", f"{building.name} · {item.name}")
    return labels


def repeated_groups(*, start: datetime, end: datetime, place: Unit | None = None) -> Repeats:
    """重复诉求 in [start, end): the groups by phone and by building and item (largest first), and
    the number of cases accepted in the period that repeat an earlier one — metrics.repeat_share's
    numerator, save that an excluded case is never the earlier one here."""
    by_phone = _groups(basis="phone", start=start, end=end, place=place)
    by_spot = _groups(basis="building_item", start=start, end=end, place=place)
    repeating = {number for group in by_phone + by_spot for number in group.repeating}
    return Repeats(by_phone=by_phone, by_building_item=by_spot, repeat_cases=len(repeating))


# --- trend alerts ------------------------------------------------------------------------------


def poisson_tail(k: int, lam: float) -> float:
    """P(X ≥ k) for X ~ Poisson(lam), summed term by term from a term computed in log space (no
    cancellation below 1e-300).

    The smaller side is summed, from the terms nearest the mode outwards until they no longer change
    the sum: the upper terms from k on when k > lam (each the previous × lam / i), else 1 − the terms
    below k (from k − 1 down, each the previous × i / lam).
    """
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0

    def term(i: int) -> float:
        return math.exp(i * math.log(lam) - lam - math.lgamma(i + 1))

    if k <= lam:
        below, running, current, i = [], 0.0, term(k - 1), k - 1
        while i >= 0 and current > running * 1e-17:
            below.append(current)
            running += current
            current *= i / lam
            i -= 1
        return max(0.0, 1.0 - math.fsum(below))
    total, current, i = 0.0, term(k), k
    while current > total * 1e-17:
        total += current
        i += 1
        current *= lam / i
    return min(1.0, total)


@dataclass(frozen=True)
class TrendTest:
    """The thresholds of settings.TRENDS (docs/hotspots.md)."""

    alpha: float
    min_count: int
    window_days: int
    baseline_days: int
    baseline_floor: float

    @classmethod
    def from_settings(cls) -> TrendTest:
        t = settings.TRENDS
        days = int(t["window_days"]), int(t["baseline_days"])
        return cls(float(t["alpha"]), int(t["min_count"]), *days, float(t["baseline_floor"]))


@dataclass(frozen=True)
class Alert:
    place: Unit
    item: Item
    observed: int  # cases accepted in the window
    expected: float  # λ: the baseline count scaled to the window, at least the floor
    p_value: float  # P(X ≥ observed | λ)
    ratio: float  # observed / expected


Pairs = dict[tuple[Unit, int], list[int]]


def _pair_counts(*, as_of: date, place: Unit | None, level: str, test: TrendTest) -> Pairs:
    """[window count, baseline count] per unit at `level` × item, from the rollups (one read)."""
    window_start = as_of - timedelta(days=test.window_days)
    begin = window_start - timedelta(days=test.baseline_days)
    areas = {unit.pk: unit for unit in _Grouper(place=place, level=level).units.values()}
    counts = accepted_by_area_item(start=begin, split=window_start, end=as_of, areas=areas.values())
    return {(areas[pk], item): [window, baseline] for (pk, item), (baseline, window) in counts.items()}


def trend_alerts(*, as_of: date, place: Unit | None = None, level: str | None = None) -> list[Alert]:
    """苗头: units at `level` (default: just below `place`) × items whose cases accepted in the
    window of days [as_of − 7, as_of) are significantly above their own baseline, most significant
    first. Counted from the rollups, as the figures' 受理量.

    Test (one-sided Poisson): the baseline is the pair's count over the 56 days before the window,
    scaled to the window (× 7 / 56) and floored at `baseline_floor` (1.0) so that a pair never seen
    before needs several cases; λ = max(baseline × 7 / 56, floor). With X ~ Poisson(λ), the pair
    alerts when P(X ≥ observed) < alpha (0.01) and observed ≥ min_count (5). Thresholds and spans
    are settings.TRENDS; each pair is tested on its own (no correction for the number of pairs).
    """
    test = TrendTest.from_settings()
    level = grouping_level(place=place, level=level)
    pairs = _pair_counts(as_of=as_of, place=place, level=level, test=test)
    scale = test.window_days / test.baseline_days
    found: list[tuple[Unit, int, int, float, float]] = []
    for (unit, item_id), (observed, before) in pairs.items():
        if observed < test.min_count:
            continue
        expected = max(before * scale, test.baseline_floor)
        p_value = poisson_tail(observed, expected)
        if p_value < test.alpha:
            found.append((unit, item_id, observed, expected, p_value))
    items = Item.objects.in_bulk({item_id for _, item_id, *_ in found})
    alerts = [
        Alert(place=unit, item=items[item_id], observed=n, expected=lam, p_value=p, ratio=n / lam)
        for unit, item_id, n, lam, p in found
    ]
    alerts.sort(key=lambda a: (a.p_value, -a.ratio, a.place.code, a.item.code))
    return alerts
