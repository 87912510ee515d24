"""What the leader dashboard and the big screen show: one period and one area, as plain JSON data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from civicgrid.analytics import figures as fast
from civicgrid.analytics import hotspots, scoping
from civicgrid.analytics.api import MAX_DAYS
from civicgrid.analytics.api_hotspots import FIRST_DAY, LAST_DAY
from civicgrid.analytics.metrics import Ratio
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case, Event
from civicgrid.cases.states import OPEN, Action
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


def _rate(ratio: Ratio) -> float | None:
    rate = ratio.rate
    return None if rate is None else float(rate)


def _supervised_in(*, start: date, end: date, place: Unit) -> int:
    """Cases placed in `place` that were put under supervision (督办) during the days [start, end)."""
    return (
        Event.objects.filter(
            action=Action.SUPERVISE,
            at__gte=scoping.midnight(start),
            at__lt=scoping.midnight(end),
            case__place__path__startswith=place.path,
            case__excluded_at__isnull=True,
        )
        .values("case_id")
        .distinct()
        .count()
    )


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


def _tile_values(report: fast.Report, supervised: int) -> dict[str, dict[str, Any]]:
    total = report.total
    ratios = total.ratios()
    values: dict[str, dict[str, Any]] = {
        "accepted": {"value": total.accepted},
        "overdue": {"value": total.overdue},
        "supervised": {"value": supervised},
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
    now = _tile_values(
        fast.figures(start=period.start, end=period.end, place=place),
        _supervised_in(start=period.start, end=period.end, place=place),
    )
    before = _tile_values(
        fast.figures(start=period.previous_start, end=period.previous_end, place=place),
        _supervised_in(start=period.previous_start, end=period.previous_end, place=place),
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
    report = fast.figures(start=period.start, end=period.end, place=place, group_by="day")
    by_day = {g.key: g.figures for g in report.groups}
    rows = []
    day = period.start
    while day < period.end:
        f = by_day.get(day.isoformat())
        rows.append(
            {
                "key": day.isoformat(),
                "label": day.isoformat(),
                "accepted": 0 if f is None else f.accepted,
                "resolved": 0 if f is None else f.participation.denominator,
                "url": links(place=place.code, first=day, last=day),
            }
        )
        day += timedelta(days=1)
    return rows


def domains(b: Board) -> list[dict[str, Any]]:
    """Cases accepted per domain (领域), most first."""
    period, place, links = b.period, b.place, b.links
    report = fast.figures(start=period.start, end=period.end, place=place, group_by="domain")
    rows = [
        {
            "key": g.key,
            "label": g.label,
            "accepted": g.figures.accepted,
            "url": links(place=place.code, domain=g.key) if g.key else None,
        }
        for g in report.groups
        if g.figures.accepted
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
    period, place, links = b.period, b.place, b.links
    report = fast.figures(start=period.start, end=period.end, place=place, group_by="unit")
    rows = [_unit_row(g, links) for g in report.groups]
    return sorted(rows, key=lambda r: (-r["accepted"], r["key"]))


def map_level(place: Unit) -> str:
    """Points per community for a district or a street, per grid below that."""
    if place.kind in (Unit.Kind.DISTRICT, Unit.Kind.STREET):
        return str(Unit.Kind.COMMUNITY)
    return str(Unit.Kind.GRID)


def cases_map(b: Board) -> dict[str, Any]:
    """Cases accepted and overdue per community or grid, at the unit's coordinates; cases whose unit
    has none (or placed above the level) are counted in `unplaced`."""
    period, place, links = b.period, b.place, b.links
    level = map_level(place)
    report = fast.figures(start=period.start, end=period.end, place=place, group_by="unit", level=level)
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
    period, place, links = b.period, b.place, b.links
    places = hotspots.top_places(start=period.start, end=period.end, place=place, limit=TOP_ROWS)
    items = hotspots.top_items(start=period.start, end=period.end, place=place, limit=TOP_ROWS)
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


def dashboard_data(*, period: Period, place: Unit, links: CaseLinks, now: datetime) -> dict[str, Any]:
    """Everything one dashboard refresh draws, for `place` (already checked against the caller)."""
    b = Board(period, place, links, timezone.localdate(now))
    tiles = kpis(b)
    overdue = next(tile for tile in tiles if tile["key"] == "overdue")
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "last": period.last.isoformat(),
        "period": period.kind,
        "previous": {"from": period.previous_start.isoformat(), "to": period.previous_end.isoformat()},
        "place": {"code": place.code, "name": place.name, "kind": place.kind},
        "updated": timezone.localtime(now).isoformat(timespec="seconds"),
        "kpis": tiles,
        "counts": {
            # 超期 at the end of the period; 督办中: open cases under supervision right now.
            "overdue": {"value": overdue["value"], "url": overdue["url"]},
            "supervised_open": {
                "value": supervised_open(place=place),
                "url": links(tab="supervised", place=place.code),
            },
        },
        "trend": trend(b),
        "domains": domains(b),
        "units": units(b),
        "map": cases_map(b),
        "hotspots": hot_spots(b),
        "alerts": alerts(b),
    }
