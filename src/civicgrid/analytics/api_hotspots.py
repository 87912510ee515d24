"""GET /api/v1/stats/hotspots and /stats/trends: hot spots and trend alerts (苗头性问题) for an area."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict

from civicgrid.analytics import hotspots, scoping
from civicgrid.analytics.api import MAX_DAYS
from civicgrid.cases.errors import InvalidInput
from civicgrid.org.models import Unit

router = Router(tags=["stats"])

Level = Literal["district", "street", "community", "grid"]
# Days a query may name: far enough from date.min and date.max for the look-backs and time zones.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9999, 12, 30)


class HotspotsParams(Schema):
    """Whole local days, as for /stats: `from` is the first day counted, `to` the first day not counted."""

    start: date = Field(alias="from", description="First day of the period, included (YYYY-MM-DD).")
    end: date = Field(alias="to", description="Day after the period, excluded (YYYY-MM-DD).")
    place: str | None = Field(None, description="An area unit code; default: the widest area covered.")
    level: Level | None = Field(None, description="Rank places at this level; default: just below `place`.")
    limit: int = Field(10, ge=1, le=hotspots.MAX_LIMIT, description="Rows per list (places, items, groups).")


class TrendsParams(Schema):
    as_of: date | None = Field(None, description="Last day of the 7-day window, included; default today.")
    place: str | None = Field(None, description="An area unit code; default: the widest area covered.")
    level: Level | None = Field(None, description="Test places at this level; default: just below `place`.")


class TopRowOut(Schema):
    key: str
    label: str
    count: int
    share: float | None = Field(description="count / total, 4 decimals.")


class TopListOut(Schema):
    total: int
    unattributed: int = Field(description="Cases of `total` placed above the level, or without an item.")
    rows: list[TopRowOut]


class RepeatGroupOut(Schema):
    basis: Literal["phone", "building_item"]
    key: str
    label: str
    count: int
    numbers: list[str] = Field(description="Members located in `place`, in order of registration.")
    elsewhere: int = Field(description="Members located outside `place`.")
    first: datetime
    last: datetime
    repeating: list[str] = Field(description="Members accepted in the period that repeat an earlier one.")


class RepeatsOut(Schema):
    repeat_cases: int
    phone_groups: int
    building_item_groups: int
    by_phone: list[RepeatGroupOut]
    by_building_item: list[RepeatGroupOut]


class HotspotsOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    place: str
    level: str
    places: TopListOut
    items: TopListOut
    repeats: RepeatsOut


class SpanOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")


class AlertOut(Schema):
    place: str
    place_name: str
    item: str
    item_name: str
    observed: int
    expected: float
    p_value: float
    ratio: float


class TrendsOut(Schema):
    as_of: date
    place: str
    level: str
    window: SpanOut
    baseline: SpanOut
    alpha: float
    min_count: int
    alerts: list[AlertOut]


def _area(request: HttpRequest, code: str | None) -> Unit:
    covered = scoping.covered(scoping.reach(request))
    if not covered:
        raise HttpError(403, _("您的岗位无权查看统计"))
    return scoping.place(code, covered)


def _day(value: date, field: str) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(field, _("日期超出范围"))
    return value


def _span(start: date, end: date) -> SpanOut:
    return SpanOut.model_validate({"from": start, "to": end})


def _top(found: hotspots.TopList) -> TopListOut:
    rows = [
        TopRowOut(
            key=r.key,
            label=r.label,
            count=r.count,
            share=None if r.share.rate is None else float(r.share.rate),
        )
        for r in found.rows
    ]
    return TopListOut(total=found.total, unattributed=found.unattributed, rows=rows)


def _groups(found: list[hotspots.RepeatGroup], limit: int) -> list[RepeatGroupOut]:
    return [
        RepeatGroupOut(
            basis=g.basis,
            key=g.key,
            label=g.label,
            count=g.count,
            numbers=g.numbers,
            elsewhere=g.elsewhere,
            first=timezone.localtime(g.first),
            last=timezone.localtime(g.last),
            repeating=g.repeating,
        )
        for g in found[:limit]
    ]


@router.get("/hotspots", response=HotspotsOut, by_alias=True, summary="Top places, top items, repeats")
def hotspots_view(request: HttpRequest, params: Query[HotspotsParams]) -> HotspotsOut:
    """Hot spots over the whole days [from, to) in `place`: the places at `level` and the items with
    the most cases accepted, with their share, and the repeated requests (重复诉求) grouped by phone
    and by building and item. Same access and limits as /stats (covered areas only, ≤ 400 days)."""
    place = _area(request, params.place)
    start, end = _day(params.start, "from"), _day(params.end, "to")
    if end <= start:
        raise InvalidInput("to", _("须晚于 from"))
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInput("to", _("统计期不能超过 %(days)s 天") % {"days": MAX_DAYS})
    level = hotspots.grouping_level(place=place, level=params.level)
    since, until = scoping.midnight(start), scoping.midnight(end)
    found = hotspots.repeated_groups(start=since, end=until, place=place)
    repeats = RepeatsOut(
        repeat_cases=found.repeat_cases,
        phone_groups=len(found.by_phone),
        building_item_groups=len(found.by_building_item),
        by_phone=_groups(found.by_phone, params.limit),
        by_building_item=_groups(found.by_building_item, params.limit),
    )
    places = hotspots.top_places(start=start, end=end, place=place, level=level, limit=params.limit)
    items = hotspots.top_items(start=start, end=end, place=place, limit=params.limit)
    return HotspotsOut.model_validate(
        {
            "from": start,
            "to": end,
            "place": place.code,
            "level": level,
            "places": _top(places),
            "items": _top(items),
            "repeats": repeats,
        }
    )


@router.get("/trends", response=TrendsOut, by_alias=True, summary="Trend alerts (苗头) for an area")
def trends_view(request: HttpRequest, params: Query[TrendsParams]) -> TrendsOut:
    """Places at `level` × items whose cases accepted in the 7 days ending with `as_of` are
    significantly above their own rate over the 56 days before (one-sided Poisson test, see
    docs/hotspots.md), most significant first. Same access as /stats."""
    place = _area(request, params.place)
    as_of = _day(params.as_of or timezone.localdate(), "as_of")
    test = hotspots.TrendTest.from_settings()
    end = as_of + timedelta(days=1)
    window_start = end - timedelta(days=test.window_days)
    level = hotspots.grouping_level(place=place, level=params.level)
    alerts = hotspots.trend_alerts(as_of=end, place=place, level=level)
    return TrendsOut(
        as_of=as_of,
        place=place.code,
        level=level,
        window=_span(window_start, end),
        baseline=_span(window_start - timedelta(days=test.baseline_days), window_start),
        alpha=test.alpha,
        min_count=test.min_count,
        alerts=[
            AlertOut(
                place=a.place.code,
                place_name=a.place.name,
                item=a.item.code,
                item_name=a.item.name,
                observed=a.observed,
                expected=round(a.expected, 4),
                p_value=a.p_value,
                ratio=round(a.ratio, 4),
            )
            for a in alerts
        ],
    )
