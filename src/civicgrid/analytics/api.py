"""GET /api/v1/stats: every statistic of DESIGN §4 for whole days, by place or by handler, grouped."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.errors import HttpError

from civicgrid.analytics import figures as fast
from civicgrid.analytics import schemas as s
from civicgrid.analytics import scoping
from civicgrid.analytics.metrics import Ratio
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.reach import Reach
from civicgrid.org.models import Unit
from civicgrid.org.selectors import unit_by_code

router = Router(tags=["stats"])

MAX_DAYS = 400
# Days a statistic can be asked for: beyond them a date is a typing error, not a period.
EARLIEST, LATEST = date(1990, 1, 1), date(2199, 12, 31)


def _handler(code: str, reach: Reach, covered: tuple[str, ...]) -> Unit:
    """The asked handling unit: one the caller works in, or one inside an area it oversees."""
    unit = unit_by_code(code=code) if scoping.plausible(code) else None
    if unit is None:
        raise InvalidInput("handler", _("未知单位编码 %(code)s") % {"code": code})
    if unit.pk not in reach.handled_unit_ids and not any(unit.path.startswith(p) for p in covered):
        raise HttpError(403, _("您无权查看 %(place)s 的统计") % {"place": unit.name})
    return unit


def _ratio(ratio: Ratio) -> s.RatioOut:
    numerator = ratio.numerator
    rate = ratio.rate
    return s.RatioOut(
        numerator=float(numerator) if isinstance(numerator, Decimal) else numerator,
        denominator=ratio.denominator,
        rate=None if rate is None else float(rate),
    )


def _metrics(figures: fast.Figures) -> dict[str, s.RatioOut | s.CountOut]:
    out: dict[str, s.RatioOut | s.CountOut] = {
        name: s.CountOut(count=getattr(figures, name))
        for name in ("accepted", "due", "overdue", "supervised")
    }
    out.update({name: _ratio(value) for name, value in figures.ratios().items()})
    return out


@router.get("", response=s.StatsOut, by_alias=True, summary="Statistics for a period, by place or handler")
def stats(request: HttpRequest, params: Query[s.StatsParams]) -> s.StatsOut:
    """Every statistic of DESIGN §4 over the whole days [from, to): ratios as numerator, denominator
    and rate; 受理量 `accepted`, 应办结 `due`, 超期 `overdue` (open past deadline at `to`) and 督办
    `supervised` (cases first put under supervision in the period) as counts.
    Scope by `place` (an area subtree), by `handler` (a unit's own work), or both; `group_by` adds
    one entry per group. Read from the rollups, which follow the event log within the worker's
    cycle. Open to oversight posts (centre, supervisor, leader, admin) and area staff for the areas
    their posts cover, and to a unit's staff for that unit as handler; at most 400 days."""
    reach = scoping.reach(request)
    covered = scoping.covered(reach)
    if not covered and (params.handler is None or not reach.handled_unit_ids):
        raise HttpError(403, _("您的岗位无权查看统计"))
    for field, day in (("from", params.start), ("to", params.end)):
        if not EARLIEST <= day <= LATEST:
            raise InvalidInput(field, _("日期超出范围"))
    if params.end <= params.start:
        raise InvalidInput("to", _("须晚于 from"))
    if params.end - params.start > timedelta(days=MAX_DAYS):
        raise InvalidInput("to", _("统计期不能超过 %(days)s 天") % {"days": MAX_DAYS})
    handler = None if params.handler is None else _handler(params.handler, reach, covered)
    if not covered and params.place is not None:
        raise HttpError(403, _("您无权查看 %(place)s 的统计") % {"place": params.place})
    place = scoping.place(params.place, covered) if covered else None
    report = fast.figures(
        start=params.start,
        end=params.end,
        place=place,
        handler=handler,
        group_by=params.group_by,
        level=params.level,
    )
    return s.StatsOut.model_validate(
        {
            "from": params.start,
            "to": params.end,
            "place": None if place is None else place.code,
            "handler": None if handler is None else handler.code,
            "group_by": params.group_by,
            "metrics": _metrics(report.total),
            "groups": [
                {"key": g.key, "label": g.label, "metrics": _metrics(g.figures)} for g in report.groups
            ],
        }
    )
