"""考核: the units of one kind under a district ranked by every rate, against the weighted satisfaction
baseline, with each unit's deduction and composite score (DESIGN §4; formulas in docs/assessment.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.selectors import posts_of
from civicgrid.analytics.figures import Figures, assemble, figures
from civicgrid.analytics.metrics import Ratio
from civicgrid.cases.models import ExclusionRequest
from civicgrid.cases.reach import reach_of
from civicgrid.cases.selectors import approved_exclusions
from civicgrid.org.models import Unit

KINDS = (Unit.Kind.STREET, Unit.Kind.COMMUNITY, Unit.Kind.DEPARTMENT)
# Every rate a unit is ranked by; the composite's weights may name any of them.
RATES = (
    "response_rate",
    "closure_rate",
    "on_time_rate",
    "satisfaction",
    "satisfaction_weighted",
    "solved_rate",
    "participation",
    "return_rate",
    "reopen_rate",
)
LABELS = {
    "response_rate": _("响应率"),
    "closure_rate": _("办结率"),
    "on_time_rate": _("按期办结率"),
    "satisfaction": _("满意率"),
    "satisfaction_weighted": _("加权满意率"),
    "solved_rate": _("解决率"),
    "participation": _("参评率"),
    "return_rate": _("退单率"),
    "reopen_rate": _("重办率"),
}
# Rates where less is better: ranked from the lowest, and worth (1 − rate) in the composite.
LOWER_IS_BETTER = frozenset({"return_rate", "reopen_rate"})
HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Standing:
    """One unit's figures and where they put it."""

    unit: Unit
    figures: Figures
    ranks: dict[str, int | None]  # by rate name; None: no denominator, unranked for that rate
    score: Decimal  # Σ weight × rate in percentage points, before the deduction
    deduction: Decimal  # k × percentage points below the baseline (0 at or above it)
    composite: Decimal  # score − deduction
    composite_rank: int | None  # None when the unit lacks data for the composite
    missing: tuple[str, ...]  # rates of the composite (or the baseline's) with no denominator
    exclusions: list[ExclusionRequest] = field(default_factory=list)

    @property
    def insufficient_data(self) -> bool:
        return bool(self.missing)

    def rate(self, name: str) -> Ratio:
        ratio: Ratio = getattr(self.figures, name)
        return ratio


@dataclass(frozen=True)
class Assessment:
    start: date
    end: date
    district: Unit
    kind: str
    baseline: Ratio  # Σ (满意 + w × 基本满意) / Σ evaluations over the units of the kind
    deduction_per_point: Decimal
    weights: dict[str, Decimal]
    standings: list[Standing]  # best composite first; units without a composite rank last
    exclusions: list[ExclusionRequest]  # approved in the period for these units, in decision order


def weights() -> dict[str, Decimal]:
    """settings.ASSESSMENT_WEIGHTS as Decimals (validated at start-up by settings.py)."""
    return {name: Decimal(str(w)) for name, w in settings.ASSESSMENT_WEIGHTS.items()}


def assess(*, start: date, end: date, district: Unit, kind: str) -> Assessment:
    """考核 of the units of `kind` (street, community, department) under `district` for [start, end)."""
    if kind not in KINDS:
        raise ValueError(kind)
    units = _units(district, kind)
    found = _figures(start=start, end=end, district=district, kind=kind)
    empty = assemble({}, overdue=0)
    figs = {u.code: found.get(u.code, empty) for u in units}
    units = [u for u in units if u.active or u.code in found]
    base = baseline([figs[u.code] for u in units])
    k = Decimal(str(settings.STATISTICS["deduction_per_point"]))
    w = weights()
    listed = _exclusions(start=start, end=end, district=district, kind=kind, units=units)
    rows = [_standing(u, figs[u.code], base, k, w, listed.get(u.pk, [])) for u in units]
    rows = _ranked(rows)
    everything = sorted((x for xs in listed.values() for x in xs), key=lambda x: (x.decided_at, x.pk))
    return Assessment(start, end, district, kind, base, k, w, rows, everything)


def _units(district: Unit, kind: str) -> list[Unit]:
    return list(Unit.objects.filter(kind=kind, path__startswith=district.path).order_by("path"))


def _figures(*, start: date, end: date, district: Unit, kind: str) -> dict[str, Figures]:
    """Each unit's figures: areas by the place of the case, departments by what they handled."""
    if kind == Unit.Kind.DEPARTMENT:
        report = figures(start=start, end=end, place=district, group_by="handler")
    else:
        report = figures(start=start, end=end, place=district, group_by="unit", level=kind)
    return {group.key: group.figures for group in report.groups if group.key}


def baseline(units: list[Figures]) -> Ratio:
    """The mean weighted satisfaction of the units, each weighing its evaluations: Σ numerators /
    Σ evaluations (a unit rated once weighs a hundredth of one rated a hundred times)."""
    numerator = sum((Decimal(f.satisfaction_weighted.numerator) for f in units), Decimal(0))
    return Ratio(numerator, sum(f.satisfaction_weighted.denominator for f in units))


def points(ratio: Ratio) -> Decimal | None:
    """A rate in percentage points as published: 0.9616 → 96.16."""
    rate = ratio.rate
    return None if rate is None else rate * HUNDRED


def deduction(unit: Ratio, base: Ratio, k: Decimal) -> Decimal:
    """k points for each percentage point the unit's weighted satisfaction lies below the baseline;
    nothing at or above it, or when either has no evaluations."""
    mine, line = points(unit), points(base)
    if mine is None or line is None or mine >= line:
        return Decimal("0.00")
    return (k * (line - mine)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def score(figs: Figures, w: dict[str, Decimal]) -> tuple[Decimal, tuple[str, ...]]:
    """Σ weight × rate in percentage points ((1 − rate) for rates where less is better), and the
    weighted rates that had no denominator (they add nothing)."""
    total, missing = Decimal(0), []
    for name, weight in w.items():
        rate: Decimal | None = getattr(figs, name).rate
        if rate is None:
            missing.append(name)
            continue
        total += weight * ((1 - rate) if name in LOWER_IS_BETTER else rate) * HUNDRED
    return total.quantize(TWO_PLACES, rounding=ROUND_HALF_UP), tuple(missing)


def _standing(
    unit: Unit, figs: Figures, base: Ratio, k: Decimal, w: dict[str, Decimal], listed: list[ExclusionRequest]
) -> Standing:
    value, missing = score(figs, w)
    if figs.satisfaction_weighted.denominator == 0 and "satisfaction_weighted" not in missing:
        missing += ("satisfaction_weighted",)  # the deduction could not be assessed
    cut = deduction(figs.satisfaction_weighted, base, k)
    return Standing(unit, figs, {}, value, cut, value - cut, None, missing, listed)


def competition_ranks(
    values: dict[str, Decimal | None], *, lowest_first: bool = False
) -> dict[str, int | None]:
    """Ranks 1, 2, 2, 4 by value (highest first unless `lowest_first`); None values are unranked."""
    present = sorted((v for v in values.values() if v is not None), reverse=not lowest_first)
    first: dict[Decimal, int] = {}
    for position, value in enumerate(present, start=1):
        first.setdefault(value, position)
    return {key: None if v is None else first[v] for key, v in values.items()}


def _ranked(rows: list[Standing]) -> list[Standing]:
    """Rank every rate and the composite, then order by composite (unranked last, then by code)."""
    ranks: dict[str, dict[str, int | None]] = defaultdict(dict)
    for name in RATES:
        by_rate = competition_ranks(
            {r.unit.code: r.rate(name).rate for r in rows}, lowest_first=name in LOWER_IS_BETTER
        )
        for code, rank in by_rate.items():
            ranks[code][name] = rank
    composite = competition_ranks({r.unit.code: None if r.missing else r.composite for r in rows})
    ranked = [
        Standing(
            r.unit,
            r.figures,
            ranks[r.unit.code],
            r.score,
            r.deduction,
            r.composite,
            composite[r.unit.code],
            r.missing,
            r.exclusions,
        )
        for r in rows
    ]
    return sorted(ranked, key=lambda r: (r.composite_rank is None, r.composite_rank or 0, r.unit.path))


def _exclusions(
    *, start: date, end: date, district: Unit, kind: str, units: list[Unit]
) -> dict[int, list[ExclusionRequest]]:
    """Approved exclusions of the period per unit: an area's are those of cases located in it; a
    department's, those it asked for or of cases it answers for (its handled figures lost them)."""
    out: dict[int, list[ExclusionRequest]] = defaultdict(list)
    by_path = {u.path: u for u in units}
    by_pk = {u.pk: u for u in units}
    for request in approved_exclusions(start=start, end=end, place=district):
        if kind == Unit.Kind.DEPARTMENT:
            owner = request.unit_id if request.unit_id in by_pk else request.case.owner_id
            if owner in by_pk:
                out[owner].append(request)
            continue
        path = request.case.place.path
        holder = next((u for p, u in by_path.items() if path.startswith(p)), None)
        if holder is not None:
            out[holder.pk].append(request)
    return out


def overseen_districts(*, user: User) -> list[Unit]:
    """The districts `user` holds an oversight post in (command centre, supervisor, leader, admin):
    the only people who may read an assessment of that district's units."""
    reach = reach_of(user)
    paths = {*reach.centre_paths, *reach.supervisor_paths, *reach.leader_paths}
    if reach.is_staff_member:  # admin posts are not told apart in the reach (area_paths mixes them)
        admin = [p.unit for p in posts_of(user=user) if p.role == Role.ADMIN]
        # An oversight post on a department oversees its district (as in cases.reach).
        paths |= {u.path if u.is_area else "/" + u.ancestor_codes()[0] + "/" for u in admin}
    return list(Unit.objects.filter(kind=Unit.Kind.DISTRICT, path__in=paths).order_by("path"))
