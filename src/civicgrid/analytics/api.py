"""GET /api/v1/stats: every statistic of DESIGN §4 for a period and a place the caller oversees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.errors import HttpError

from civicgrid.accounts.models import User
from civicgrid.analytics import metrics
from civicgrid.analytics import schemas as s
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.reach import Reach, reach_of
from civicgrid.org.models import Unit
from civicgrid.org.selectors import unit_by_code

router = Router(tags=["stats"])

MAX_DAYS = 400

# Every ratio of metrics.py, by the name the API answers with; 受理量 and 超期 are counts, apart.
RATIOS: dict[str, Callable[..., metrics.Ratio]] = {
    "response_rate": metrics.response_rate,
    "closure_rate": metrics.closure_rate,
    "on_time_rate": metrics.on_time_rate,
    "satisfaction": metrics.satisfaction,
    "satisfaction_weighted": metrics.satisfaction_weighted,
    "participation": metrics.participation,
    "solved_rate": metrics.solved_rate,
    "return_rate": metrics.return_rate,
    "reopen_rate": metrics.reopen_rate,
    "proactive_share": metrics.proactive_share,
}


def _reach(request: HttpRequest) -> Reach:
    user = request.user
    assert isinstance(user, User)
    return reach_of(user)


def _covered(reach: Reach) -> tuple[str, ...]:
    """The areas whose statistics the caller may read: oversight posts' areas and area posts."""
    return reach.centre_paths + reach.supervisor_paths + reach.leader_paths + reach.area_paths


def _moment(value: datetime, field: str) -> datetime:
    """An aware local datetime; a value without an offset (a plain date included) is local time."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    try:
        value.astimezone(UTC)  # year 1 or 9999 near the edge: not representable in UTC
    except OverflowError:
        raise InvalidInput(field, _("日期超出范围")) from None
    return timezone.localtime(value)


def _plausible(code: str) -> bool:
    """Codes PostgreSQL can compare at all (no NUL) and of a length a unit code can have."""
    return 0 < len(code) <= Unit._meta.get_field("code").max_length and "\x00" not in code  # type: ignore[operator]


def _place(code: str | None, covered: tuple[str, ...]) -> Unit:
    """The asked unit, or the widest area covered (the district for a district post)."""
    if code is None:
        widest = min(covered, key=lambda path: (path.count("/"), path))
        return Unit.objects.get(path=widest)
    unit = unit_by_code(code=code) if _plausible(code) else None
    if unit is None:
        raise InvalidInput("place", _("未知单位编码 %(code)s") % {"code": code})
    if not unit.is_area:
        raise InvalidInput("place", _("须为区域单位（区、街道、社区或网格）"))
    if not any(unit.path.startswith(path) for path in covered):
        raise HttpError(403, _("您无权查看 %(place)s 的统计") % {"place": unit.name})
    return unit


def _ratio(ratio: metrics.Ratio) -> s.RatioOut:
    numerator = ratio.numerator
    rate = ratio.rate
    return s.RatioOut(
        numerator=float(numerator) if isinstance(numerator, Decimal) else numerator,
        denominator=ratio.denominator,
        rate=None if rate is None else float(rate),
    )


@router.get("", response=s.StatsOut, by_alias=True, summary="Statistics for a period and a place")
def stats(request: HttpRequest, params: Query[s.StatsParams]) -> s.StatsOut:
    """Every statistic of DESIGN §4 over [from, to) for cases located in `place`'s subtree: ratios as
    numerator, denominator and rate; 受理量 `accepted` and 超期 `overdue` (open past deadline at `to`)
    as counts. Open to the oversight posts (centre, supervisor, leader, admin) and area staff, for
    areas their posts cover; at most 400 days."""
    covered = _covered(_reach(request))
    if not covered:
        raise HttpError(403, _("您的岗位无权查看统计"))
    start, end = _moment(params.start, "from"), _moment(params.end, "to")
    if end <= start:
        raise InvalidInput("to", _("须晚于 from"))
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInput("to", _("统计期不能超过 %(days)s 天") % {"days": MAX_DAYS})
    place = _place(params.place, covered)
    figures: dict[str, s.RatioOut | s.CountOut] = {
        "accepted": s.CountOut(count=metrics.accepted(start=start, end=end, place=place)),
        "overdue": s.CountOut(count=metrics.overdue(end=end, place=place)),
    }
    for name, definition in RATIOS.items():
        figures[name] = _ratio(definition(start=start, end=end, place=place))
    return s.StatsOut.model_validate({"from": start, "to": end, "place": place.code, "metrics": figures})
