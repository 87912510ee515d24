"""GET /api/v1/stats/assessment: 考核 of a district's streets, communities or departments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict

from civicgrid.accounts.models import User
from civicgrid.analytics import assessment as a
from civicgrid.analytics import scoping
from civicgrid.analytics.api import MAX_DAYS
from civicgrid.analytics.metrics import Ratio
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import ExclusionRequest
from civicgrid.org.models import Unit
from civicgrid.org.selectors import unit_by_code

router = Router(tags=["stats"])

# Days a query may name: far enough from date.min and date.max for time zones.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9999, 12, 30)


class AssessmentParams(Schema):
    """Whole local days, as for /stats: `from` is the first day counted, `to` the first day not counted."""

    start: date = Field(alias="from", description="First day of the period, included (YYYY-MM-DD).")
    end: date = Field(alias="to", description="Day after the period, excluded (YYYY-MM-DD).")
    kind: Literal["street", "community", "department"] = Field(description="The kind of unit assessed.")
    district: str | None = Field(None, description="A district code; default: the caller's district.")


class RateOut(Schema):
    numerator: int | float
    denominator: int
    rate: float | None = Field(description="4 decimals (0.9616 for 96.16 %); null without a denominator.")
    rank: int | None = Field(description="Competition rank (1, 2, 2, 4); null without a denominator.")


class ExclusionOut(Schema):
    case: str = Field(description="The case number.")
    unit: str = Field(description="The unit that asked for the exclusion.")
    reason: str
    note: str
    decided_at: str
    decided_by: str


class StandingOut(Schema):
    code: str
    name: str
    accepted: int
    due: int
    overdue: int
    rates: dict[str, RateOut]
    score: float = Field(description="Σ weight × rate in percentage points, before the deduction.")
    deduction: float = Field(description="k × percentage points of weighted satisfaction below baseline.")
    composite: float = Field(description="score − deduction.")
    composite_rank: int | None
    insufficient_data: bool
    missing: list[str] = Field(description="Rates of the composite (or the baseline) with no denominator.")
    exclusions: list[ExclusionOut]


class AssessmentOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    district: str
    kind: str
    baseline: RateOut
    deduction_per_point: float
    weights: dict[str, float]
    units: list[StandingOut]
    exclusions: list[ExclusionOut]


def district_for(user: User, code: str | None) -> Unit:
    """The asked district, which the caller must oversee; by default the first one they do."""
    overseen = a.overseen_districts(user=user)
    if code is None:
        if not overseen:
            raise HttpError(403, _("只有区县指挥中心、督办、领导和管理员可以查看考核"))
        return overseen[0]
    unit = unit_by_code(code=code) if scoping.plausible(code) else None
    if unit is None:
        raise InvalidInput("district", _("未知单位编码 %(code)s") % {"code": code})
    if unit.kind != Unit.Kind.DISTRICT:
        raise InvalidInput("district", _("须为区县单位"))
    if unit not in overseen:
        raise HttpError(403, _("您无权查看 %(place)s 的考核") % {"place": unit.name})
    return unit


def period(start: date, end: date) -> tuple[date, date]:
    """The period asked, or InvalidInput naming the field at fault."""
    for value, name in ((start, "from"), (end, "to")):
        if not FIRST_DAY <= value <= LAST_DAY:
            raise InvalidInput(name, _("日期超出范围"))
    if end <= start:
        raise InvalidInput("to", _("须晚于 from"))
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInput("to", _("统计期不能超过 %(days)s 天") % {"days": MAX_DAYS})
    return start, end


def _rate(ratio: Ratio, rank: int | None) -> RateOut:
    numerator = ratio.numerator
    return RateOut(
        numerator=float(numerator) if isinstance(numerator, Decimal) else numerator,
        denominator=ratio.denominator,
        rate=None if ratio.rate is None else float(ratio.rate),
        rank=rank,
    )


def exclusion_out(x: ExclusionRequest) -> ExclusionOut:
    decided = timezone.localtime(x.decided_at).isoformat() if x.decided_at else ""
    by = x.decided_by.display_name or x.decided_by.username if x.decided_by else ""
    return ExclusionOut(
        case=x.case.number, unit=x.unit.code, reason=x.reason, note=x.note, decided_at=decided, decided_by=by
    )


def _standing(s: a.Standing) -> StandingOut:
    f = s.figures
    return StandingOut(
        code=s.unit.code,
        name=s.unit.name,
        accepted=f.accepted,
        due=f.due,
        overdue=f.overdue,
        rates={name: _rate(s.rate(name), s.ranks[name]) for name in a.RATES},
        score=float(s.score),
        deduction=float(s.deduction),
        composite=float(s.composite),
        composite_rank=s.composite_rank,
        insufficient_data=s.insufficient_data,
        missing=list(s.missing),
        exclusions=[exclusion_out(x) for x in s.exclusions],
    )


@router.get("/assessment", response=AssessmentOut, by_alias=True, summary="Assessment (考核) of units")
def assessment_view(request: HttpRequest, params: Query[AssessmentParams]) -> AssessmentOut:
    """考核 over the whole days [from, to) of the district's streets, communities (by the place of
    the cases) or departments (by what they handled): every rate with its competition rank, the
    weighted satisfaction baseline (weighted by evaluations), each unit's deduction (k points per
    percentage point below it), the composite score, and the exclusions approved in the period.
    Open to the district's command centre, supervisors, leaders and admins; at most 400 days."""
    user = request.user
    assert isinstance(user, User)
    district = district_for(user, params.district)
    start, end = period(params.start, params.end)
    found = a.assess(start=start, end=end, district=district, kind=params.kind)
    return AssessmentOut.model_validate(
        {
            "from": start,
            "to": end,
            "district": district.code,
            "kind": found.kind,
            "baseline": _rate(found.baseline, None),
            "deduction_per_point": float(found.deduction_per_point),
            "weights": {name: float(w) for name, w in found.weights.items()},
            "units": [_standing(s) for s in found.standings],
            "exclusions": [exclusion_out(x) for x in found.exclusions],
        }
    )
