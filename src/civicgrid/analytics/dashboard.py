"""What the leader dashboard and the big screen show: one period and one area, as plain JSON data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from civicgrid.analytics import figures as fast
from civicgrid.analytics import hotspots
from civicgrid.analytics.api import MAX_DAYS
from civicgrid.analytics.api_hotspots import FIRST_DAY, LAST_DAY
from civicgrid.analytics.metrics import Ratio
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case
from civicgrid.cases.states import OPEN
from civicgrid.org.models import Unit

PERIODS: dict[str, StrOrPromise] = {
    "month": gettext_lazy("本月"),
    "last_month": gettext_lazy("上月"),
    "custom": gettext_lazy("自定义"),
}
# The tiles across the top: (name, label, what it is). Rates are read from Figures' ratios.
KPIS: tuple[tuple[str, StrOrPromise, str], ...] = (
    ("accepted", gettext_lazy("受理量"), "count"),
    ("closure_rate", gettext_lazy("办结率"), "rate"),
    ("on_time_rate", gettext_lazy("按期办结率"), "rate"),
    ("satisfaction", gettext_lazy("满意率"), "rate"),
    ("response_rate", gettext_lazy("响应率"), "rate"),
    ("overdue", gettext_lazy("超期"), "count"),
    ("supervised", gettext_lazy("督办"), "count"),
)
TOP_ROWS = 10
MAX_ALERTS = 20


@dataclass(frozen=True)
class Period:
    """Whole local days [start, end), and the period it is compared with."""

    kind: str
    start: date
    end: date
    previous_start: date
    previous_end: date

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def previous_last(self) -> date:
        return self.previous_end - timedelta(days=1)


def _first_of_previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _day(params: Mapping[str, str], name: str) -> date:
    text = params.get(name, "").strip()
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(name, _("须为日期（YYYY-MM-DD）")) from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(name, _("日期超出范围"))
    return value


def period_of(params: Mapping[str, str], *, today: date) -> Period:
    """The period a request asks for: this month so far (compared with the same days of last month),
    last month (with the month before) or the days `first`…`last` (with as many days before, or as
    many whole months before when they are whole months)."""
    kind = params.get("period") or "month"
    if kind == "month":
        start, end = today.replace(day=1), today + timedelta(days=1)
        before = _first_of_previous_month(today)
        return Period(kind, start, end, before, min(before + (end - start), start))
    if kind == "last_month":
        end = today.replace(day=1)
        start = _first_of_previous_month(end)
        return Period(kind, start, end, _first_of_previous_month(start), start)
    if kind != "custom":
        raise InvalidInput("period", _("须为 %(kinds)s 之一") % {"kinds": "、".join(PERIODS)})
    first, last = _day(params, "first"), _day(params, "last")
    if last < first:
        raise InvalidInput("last", _("不能早于起始日"))
    length = last - first + timedelta(days=1)
    if length > timedelta(days=MAX_DAYS):
        raise InvalidInput("last", _("统计期不能超过 %(days)s 天") % {"days": MAX_DAYS})
    if first - length < FIRST_DAY:
        raise InvalidInput("first", _("日期超出范围"))
    end = first + length
    if first.day == 1 and end.day == 1:
        # Whole calendar months compare with as many whole months before (环比), not as many days.
        months = (end.year - first.year) * 12 + end.month - first.month
        index = first.year * 12 + first.month - 1 - months
        return Period(kind, first, end, date(index // 12, index % 12 + 1, 1), first)
    return Period(kind, first, end, first - length, first)


class CaseLinks:
    """Links to the console's case list, filtered to the cases behind a number (None: no links)."""

    def __init__(self, base: str | None, period: Period) -> None:
        self.base = base
        self.period = period

    def __call__(
        self, *, tab: str = "all", first: date | None = None, last: date | None = None, **filters: str
    ) -> str | None:
        if self.base is None:
            return None
        query: dict[str, str] = {"tab": tab, **{k: v for k, v in filters.items() if v}}
        if tab == "all":
            query["created_from"] = (first or self.period.start).isoformat()
            query["created_to"] = (last or self.period.last).isoformat()
        return f"{self.base}?{urlencode(query)}"


@dataclass(frozen=True)
class Board:
    """One dashboard: its period, its area and where its numbers link to."""

    period: Period
    place: Unit
    links: CaseLinks
    today: date

    @property
    def current(self) -> bool:
        """Whether the period ends today: only then is 超期 at its end the overdue queue of now."""
        return self.period.last == self.today

    # Reads that several panels draw from, made once per refresh.

    @cached_property
    def by_place(self) -> fast.Tally:
        """The period's figures per place: the tiles, the unit table, the map and the top places."""
        return fast.tally(start=self.period.start, end=self.period.end, place=self.place, group_by="unit")

    @cached_property
    def by_item(self) -> dict[int, int]:
        """受理量 per item (0: none): the domains and the top items."""
        found = fast.accepted_counts(
            start=self.period.start, end=self.period.end, place=self.place, by=("item_id",)
        )
        return {pk: n for (pk,), n in found.items()}


def _rate(ratio: Ratio) -> float | None:
    rate = ratio.rate
    return None if rate is None else float(rate)


def supervised_open(*, place: Unit) -> int:
    """Open cases under supervision now: the console's 督办 queue, within `place`."""
    return Case.objects.filter(
        supervised_at__isnull=False, status__in=OPEN, place__path__startswith=place.path
    ).count()


def _kpi(
    name: str, label: StrOrPromise, kind: str, now: dict[str, Any], before: dict[str, Any]
) -> dict[str, Any]:
    value, previous = now["value"], before["value"]
    change = None if value is None or previous is None else round(value - previous, 4)
    return {"key": name, "label": str(label), "kind": kind, **now, "previous": previous, "change": change}


def _tile_values(total: fast.Figures) -> dict[str, dict[str, Any]]:
    ratios = total.ratios()
    values: dict[str, dict[str, Any]] = {
        "accepted": {"value": total.accepted},
        "overdue": {"value": total.overdue},
        "supervised": {"value": total.supervised},
    }
    for name, _label, kind in KPIS:
        if kind == "rate":
            r = ratios[name]
            numerator = r.numerator if isinstance(r.numerator, int) else float(r.numerator)
            values[name] = {"value": _rate(r), "numerator": numerator, "denominator": r.denominator}
    return values


def kpis(b: Board) -> list[dict[str, Any]]:
    """Each tile with this period's value, the previous period's and the change (points for rates)."""
    period, place, links = b.period, b.place, b.links
    now = _tile_values(b.by_place.total)
    before = _tile_values(
        fast.figures(start=period.previous_start, end=period.previous_end, place=place).total
    )
    # 超期 is counted at the end of the period; the overdue queue lists the cases overdue now.
    urls = {"accepted": links(place=place.code)}
    if b.current:
        urls["overdue"] = links(tab="overdue", place=place.code)
    return [
        {**_kpi(name, label, kind, now[name], before[name]), "url": urls.get(name)}
        for name, label, kind in KPIS
    ]


def trend(b: Board) -> list[dict[str, Any]]:
    """Cases accepted and resolutions (办结, resolve events) per day, every day of the period."""
    period, place, links = b.period, b.place, b.links
    by_day = fast.per_day(start=period.start, end=period.end, place=place, names=("accepted", "resolves"))
    rows = []
    day = period.start
    while day < period.end:
        counts = by_day.get(day, {})
        rows.append(
            {
                "key": day.isoformat(),
                "label": day.isoformat(),
                "accepted": counts.get("accepted", 0),
                "resolved": counts.get("resolves", 0),
                "url": links(place=place.code, first=day, last=day),
            }
        )
        day += timedelta(days=1)
    return rows


def domains(b: Board) -> list[dict[str, Any]]:
    """Cases accepted per domain (领域), most first."""
    place, links = b.place, b.links
    rows = [
        {
            "key": key,
            "label": label,
            "accepted": n,
            "url": links(place=place.code, domain=key) if key else None,
        }
        for (key, label), n in fast.per_domain(b.by_item).items()
    ]
    return sorted(rows, key=lambda r: (-r["accepted"], r["key"]))


def _unit_row(group: fast.Group, links: CaseLinks) -> dict[str, Any]:
    f = group.figures
    return {
        "key": group.key,
        "label": group.label,
        "accepted": f.accepted,
        "response_rate": _rate(f.response_rate),
        "closure_rate": _rate(f.closure_rate),
        "on_time_rate": _rate(f.on_time_rate),
        "satisfaction": _rate(f.satisfaction),
        "overdue": f.overdue,
        "url": links(place=group.key) if group.key else None,
    }


def units(b: Board) -> list[dict[str, Any]]:
    """The areas just below `place`, with their main figures, most cases first."""
    report = fast.regrouped(b.by_place, group_by="unit", place=b.place)
    rows = [_unit_row(g, b.links) for g in report.groups]
    return sorted(rows, key=lambda r: (-r["accepted"], r["key"]))


def map_level(place: Unit) -> str:
    """Points per community for a district or a street, per grid below that."""
    if place.kind in (Unit.Kind.DISTRICT, Unit.Kind.STREET):
        return str(Unit.Kind.COMMUNITY)
    return str(Unit.Kind.GRID)


def cases_map(b: Board) -> dict[str, Any]:
    """Cases accepted and overdue per community or grid, at the unit's coordinates; cases whose unit
    has none (or placed above the level) are counted in `unplaced`."""
    place, links = b.place, b.links
    level = map_level(place)
    report = fast.regrouped(b.by_place, group_by="unit", place=place, level=level)
    groups = [g for g in report.groups if g.figures.accepted or g.figures.overdue]
    found = Unit.objects.filter(
        code__in=[g.key for g in groups if g.key], lat__isnull=False, lon__isnull=False
    )
    where = {u.code: (u.lat, u.lon) for u in found}
    points: list[dict[str, Any]] = []
    unplaced = 0
    for g in groups:
        if g.key not in where:
            unplaced += g.figures.accepted
            continue
        lat, lon = where[g.key]
        points.append(
            {
                "key": g.key,
                "label": g.label,
                "lat": lat,
                "lon": lon,
                "accepted": g.figures.accepted,
                "overdue": g.figures.overdue,
                "url": links(place=g.key),
            }
        )
    points.sort(key=lambda p: (-p["accepted"], p["key"]))
    return {
        "level": level,
        "level_label": str(Unit.Kind(level).label),
        "points": points,
        "unplaced": unplaced,
    }


def _top_rows(found: hotspots.TopList, url: Callable[[str], str | None]) -> list[dict[str, Any]]:
    return [
        {"key": r.key, "label": r.label, "count": r.count, "share": _rate(r.share), "url": url(r.key)}
        for r in found.rows
    ]


def hot_spots(b: Board) -> dict[str, Any]:
    """The places and items with most cases (docs/hotspots.md)."""
    place, links = b.place, b.links
    level = hotspots.grouping_level(place=place, level=None)
    accepted = {pk: c["accepted"] for pk, c in b.by_place.sums.items() if c.get("accepted")}
    places = hotspots.rank_places(accepted, place=place, level=level, limit=TOP_ROWS)
    items = hotspots.rank_items(b.by_item, limit=TOP_ROWS)
    return {
        "places": _top_rows(places, lambda code: links(place=code)),
        "items": _top_rows(items, lambda code: links(place=place.code, item=code)),
    }


def alerts(b: Board) -> list[dict[str, Any]]:
    """Trend alerts (苗头) of the 7 days ending with the period's last day, or today if sooner."""
    period, place, links = b.period, b.place, b.links
    as_of = min(period.end, b.today + timedelta(days=1))
    window = as_of - timedelta(days=hotspots.TrendTest.from_settings().window_days)
    found = hotspots.trend_alerts(as_of=as_of, place=place)[:MAX_ALERTS]
    last = as_of - timedelta(days=1)
    return [
        {
            "place": a.place.code,
            "place_name": a.place.name,
            "item": a.item.code,
            "item_name": a.item.name,
            "observed": a.observed,
            "expected": round(a.expected, 2),
            "p_value": a.p_value,
            "ratio": round(a.ratio, 2),
            "url": links(place=a.place.code, item=a.item.code, first=window, last=last),
        }
        for a in found
    ]


def counts(b: Board) -> dict[str, Any]:
    """超期 at the end of the period (the tile's) and 督办中, open cases under supervision right now."""
    overdue = b.by_place.total.overdue
    return {
        "overdue": {
            "value": overdue,
            "url": b.links(tab="overdue", place=b.place.code) if b.current else None,
        },
        "supervised_open": {
            "value": supervised_open(place=b.place),
            "url": b.links(tab="supervised", place=b.place.code),
        },
    }


# Each part of the data, by its key in the answer.
PANELS: dict[str, Callable[[Board], Any]] = {
    "kpis": kpis,
    "counts": counts,
    "trend": trend,
    "domains": domains,
    "units": units,
    "map": cases_map,
    "hotspots": hot_spots,
    "alerts": alerts,
}


def dashboard_data(*, period: Period, place: Unit, links: CaseLinks, now: datetime) -> dict[str, Any]:
    """Everything one dashboard refresh draws, for `place` (already checked against the caller)."""
    b = Board(period, place, links, timezone.localdate(now))
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "last": period.last.isoformat(),
        "period": period.kind,
        "previous": {"from": period.previous_start.isoformat(), "to": period.previous_end.isoformat()},
        "place": {"code": place.code, "name": place.name, "kind": place.kind},
        "updated": timezone.localtime(now).isoformat(timespec="seconds"),
        **{key: panel(b) for key, panel in PANELS.items()},
    }
