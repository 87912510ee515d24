"""What a bulletin says, section by section: one function per section, all read for one area and period.

Figures come from the statistics facade (rollups); hot spots from analytics.hotspots; the case lists
from lists.py. Everything is as it stood at the period's end, so a bulletin regenerated later says
the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.analytics import hotspots
from civicgrid.analytics.bulletins.lists import (
    ExclusionRow,
    Listing,
    OverdueRow,
    SupervisedRow,
    exclusions,
    overdue,
    supervised,
)
from civicgrid.analytics.bulletins.periods import DAILY, MONTHLY, WEEKLY, Period
from civicgrid.analytics.figures import Figures, Group, assemble, figures
from civicgrid.analytics.metrics import Ratio
from civicgrid.org.models import Unit

TOP = 10  # rows of each hot-spot list


@dataclass(frozen=True)
class Line:
    """One figure of the overview, this period and the one before."""

    name: str  # the Figures attribute
    label: str
    current: int | Ratio
    previous: int | Ratio

    @property
    def change(self) -> int | Decimal | None:
        """A count's difference, or a rate's difference as a fraction (0.0123 = 1.23 百分点)."""
        if isinstance(self.current, Ratio) and isinstance(self.previous, Ratio):
            now, before = self.current.rate, self.previous.rate
            return None if now is None or before is None else now - before
        assert isinstance(self.current, int) and isinstance(self.previous, int)
        return self.current - self.previous


@dataclass(frozen=True)
class Ranked:
    """A unit's figures with its place in the ranking (None: cases held by the area itself)."""

    rank: int | None
    code: str
    label: str
    figures: Figures


@dataclass(frozen=True)
class Share:
    """A domain's or item's figures with its share of the cases accepted in the area."""

    code: str
    label: str
    figures: Figures
    share: Ratio


@dataclass(frozen=True)
class Hotspots:
    places: hotspots.TopList
    items: hotspots.TopList
    alerts: list[hotspots.Alert]


@dataclass(frozen=True)
class Content:
    """Every section of one bulletin."""

    unit: Unit
    period: Period
    kind: str
    generated_at: datetime
    overview: list[Line]
    areas: list[Ranked]
    departments: list[Ranked]
    domains: list[Share]
    items: list[Share]
    overdue: Listing[OverdueRow]
    supervised: Listing[SupervisedRow]
    hotspots: Hotspots
    exclusions: Listing[ExclusionRow]
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return title_of(self.unit, self.kind)


def title_of(unit: Unit, kind: str) -> str:
    """西里社区日报, 新街口街道周报, 西城区月度通报."""
    suffix = {DAILY: _("日报"), WEEKLY: _("周报"), MONTHLY: _("月度通报")}[kind]
    return f"{unit.name}{suffix}"


def gather(*, unit: Unit, period: Period, kind: str) -> Content:
    """Every section of the bulletin of `unit` for `period`."""
    return Content(
        unit=unit,
        period=period,
        kind=kind,
        generated_at=clock.now(),
        overview=overview(unit=unit, period=period),
        areas=areas(unit=unit, period=period),
        departments=departments(unit=unit, period=period) if kind == MONTHLY else [],
        domains=shares(unit=unit, period=period, group_by="domain"),
        items=shares(unit=unit, period=period, group_by="item"),
        overdue=overdue(unit=unit, period=period),
        supervised=supervised(unit=unit, period=period),
        hotspots=spots(unit=unit, period=period),
        exclusions=exclusions(unit=unit, period=period),
    )


# --- overview ----------------------------------------------------------------------------------

# The overview's figures in the order a 通报 reads them: volume, closure, satisfaction, response.
OVERVIEW = (
    ("accepted", "受理量"),
    ("due", "应办结"),
    ("closure_rate", "办结率"),
    ("on_time_rate", "按期办结率"),
    ("satisfaction", "满意率"),
    ("satisfaction_weighted", "满意率（加权）"),
    ("participation", "参评率"),
    ("solved_rate", "解决率"),
    ("response_rate", "响应率"),
    ("overdue", "超期"),
    ("proactive_share", "主动发现占比"),
    ("return_rate", "退单率"),
    ("reopen_rate", "重办率"),
    ("repeat_share", "重复诉求占比"),
)


def overview(*, unit: Unit, period: Period) -> list[Line]:
    """The area's figures for the period beside the previous period's."""
    before = period.previous()
    now = figures(start=period.start, end=period.end, place=unit).total
    then = figures(start=before.start, end=before.end, place=unit).total
    return [Line(name, _(label), getattr(now, name), getattr(then, name)) for name, label in OVERVIEW]


# --- rankings ----------------------------------------------------------------------------------


def _rank_key(figures: Figures) -> tuple[Decimal, Decimal, int]:
    """Ranked by 按期办结率, then 满意率, then 受理量; a unit without a rate comes after all others."""
    on_time, satisfaction = figures.on_time_rate.rate, figures.satisfaction.rate
    low = Decimal(-1)  # below any rate, 0 % included
    return (
        low if on_time is None else on_time,
        low if satisfaction is None else satisfaction,
        figures.accepted,
    )


def ranked(groups: Iterable[Group]) -> list[Ranked]:
    """Groups in ranking order with competition ranks (1, 2, 2, 4): equal keys share a place."""
    ordered = sorted(groups, key=lambda g: (_neg(_rank_key(g.figures)), g.key))
    out: list[Ranked] = []
    for position, group in enumerate(ordered, start=1):
        tie = out and _rank_key(ordered[position - 2].figures) == _rank_key(group.figures)
        out.append(Ranked(out[-1].rank if tie else position, group.key, group.label, group.figures))
    return out


def _neg(key: tuple[Decimal, Decimal, int]) -> tuple[Decimal, Decimal, int]:
    return (-key[0], -key[1], -key[2])


def _with_all(groups: list[Group], units: Iterable[Unit], blank: Figures) -> list[Group]:
    """The groups plus a zero group for each unit with nothing in the period: a 通报 names them all."""
    seen = {g.key for g in groups}
    return groups + [Group(u.code, u.name, blank) for u in units if u.code not in seen]


def areas(*, unit: Unit, period: Period) -> list[Ranked]:
    """The child areas ranked; the cases placed on the area itself follow, unranked."""
    report = figures(start=period.start, end=period.end, place=unit, group_by="unit")
    own = [g for g in report.groups if g.key in (unit.code, "")]
    children = Unit.objects.filter(parent=unit, kind__in=Unit.AREA_KINDS, active=True).order_by("code")
    rest = [g for g in report.groups if g.key not in (unit.code, "")]
    ranking = ranked(_with_all(rest, children, _blank()))
    label = _("%(name)s（本级）") % {"name": unit.name}
    return ranking + [Ranked(None, g.key or unit.code, label, g.figures) for g in own]


def departments(*, unit: Unit, period: Period) -> list[Ranked]:
    """The district's departments ranked by what they handled for cases in the district."""
    report = figures(start=period.start, end=period.end, place=unit, group_by="handler")
    found = list(Unit.objects.filter(path__startswith=unit.path, kind=Unit.Kind.DEPARTMENT).order_by("code"))
    groups = [g for g in report.groups if g.key in {u.code for u in found}]
    return ranked(_with_all(groups, [u for u in found if u.active], _blank()))


def _blank() -> Figures:
    """Figures of nothing: every count 0, every ratio 0 / 0."""
    return assemble({}, overdue=0)


def shares(*, unit: Unit, period: Period, group_by: str) -> list[Share]:
    """Domains or items by cases accepted (most first), each with its share of the area's."""
    report = figures(start=period.start, end=period.end, place=unit, group_by=group_by)
    total = report.total.accepted
    rows = [Share(g.key, g.label, g.figures, Ratio(g.figures.accepted, total)) for g in report.groups]
    return sorted(rows, key=lambda r: (-r.figures.accepted, -r.figures.due, r.code or "\uffff"))


def spots(*, unit: Unit, period: Period) -> Hotspots:
    """Top places (the level just below the area) and items, and the trend alerts at the period's end."""
    start, end = period.start, period.end
    return Hotspots(
        places=hotspots.top_places(start=start, end=end, place=unit, limit=TOP),
        items=hotspots.top_items(start=start, end=end, place=unit, limit=TOP),
        alerts=hotspots.trend_alerts(as_of=end, place=unit),
    )
