"""考核: ranks by every rate, the baseline weighted by evaluations, deductions, the composite score."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from decimal import Decimal as D

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings

from civicgrid.accounts.models import User
from civicgrid.analytics import assessment, rollups
from civicgrid.analytics.assessment import Assessment, Standing, assess, competition_ranks
from civicgrid.analytics.metrics import Ratio
from civicgrid.analytics.models import DAILY_COUNTERS
from civicgrid.cases import services
from civicgrid.cases.models import Case
from civicgrid.cases.services.exclusions import case_exclude, case_request_exclusion
from civicgrid.env import ConfigError
from civicgrid.org.models import Unit
from civicgrid.settings import _assessment_weights
from tests.conftest import CaseMaker, Town, at

OCTOBER = {"start": date(2026, 10, 1), "end": date(2026, 11, 1)}
_days = itertools.count()


def rolled(place: Unit, *, handler: Unit | None = None, **counters: int) -> None:
    """Counters as the worker would have folded them, on a day of October of their own."""
    day = date(2026, 10, 1) + timedelta(days=next(_days) % 28)
    key = ("d", day.isoformat(), place.pk, 0 if handler is None else handler.pk, 0, "hotline", "complaint")
    rollups.apply({key: [counters.get(name, 0) for name in DAILY_COUNTERS]})


def community(town: Town, code: str, name: str) -> Unit:
    """Another community of 新街口街道, with one grid where its cases are located."""
    unit = Unit.objects.create(code=code, name=name, kind=Unit.Kind.COMMUNITY, parent=town.street)
    return Unit.objects.create(code=f"{code}-G1", name=f"{name}一网格", kind=Unit.Kind.GRID, parent=unit)


def of(found: Assessment, code: str) -> Standing:
    return next(s for s in found.standings if s.unit.code == code)


def communities() -> Assessment:
    return assess(**OCTOBER, district=Unit.objects.get(code="XC"), kind="community")


# --- ranks ---------------------------------------------------------------------------------------


def test_it_ranks_ties_alike_and_skips_the_places_they_take() -> None:
    values = {"a": Decimal("0.9"), "b": Decimal("0.8"), "c": Decimal("0.8"), "d": Decimal("0.5"), "e": None}

    assert competition_ranks(values) == {"a": 1, "b": 2, "c": 2, "d": 4, "e": None}
    assert competition_ranks(values, lowest_first=True) == {"a": 4, "b": 2, "c": 2, "d": 1, "e": None}


def test_it_ranks_the_communities_by_each_rate(town: Town) -> None:
    # given: satisfaction 90 %, 80 %, 80 %, 50 % in four communities; returns 1/10, 3/10, 0, 3/10
    third, fourth = community(town, "XC-S1-C3", "南里社区"), community(town, "XC-S1-C4", "北里社区")
    empty = Unit.objects.create(
        code="XC-S1-C5", name="中里社区", kind=Unit.Kind.COMMUNITY, parent=town.street
    )
    rolled(town.grid, evaluations=10, satisfied=9, dispatches=10, returns=1)
    rolled(town.far_grid, evaluations=10, satisfied=8, dispatches=10, returns=3)
    rolled(third, evaluations=5, satisfied=4, dispatches=10)
    rolled(fourth, evaluations=2, satisfied=1, dispatches=10, returns=3)

    # when
    found = communities()

    # then
    satisfaction = {s.unit.code: s.ranks["satisfaction"] for s in found.standings}
    assert satisfaction == {"XC-S1-C1": 1, "XC-S1-C2": 2, "XC-S1-C3": 2, "XC-S1-C4": 4, "XC-S1-C5": None}
    returns = {s.unit.code: s.ranks["return_rate"] for s in found.standings}
    assert returns == {"XC-S1-C1": 2, "XC-S1-C2": 3, "XC-S1-C3": 1, "XC-S1-C4": 3, "XC-S1-C5": None}
    assert found.standings[-1].unit == empty  # no data: no composite rank, listed last
    assert of(found, "XC-S1-C1").rate("satisfaction") == Ratio(9, 10)


# --- baseline and deduction ----------------------------------------------------------------------


def test_it_weighs_the_baseline_by_evaluations(town: Town) -> None:
    # given: one community rated once (satisfied), the other rated 100 times (80 satisfied)
    rolled(town.grid, evaluations=1, satisfied=1)
    rolled(town.far_grid, evaluations=100, satisfied=80)

    # when
    found = communities()

    # then: 81 / 101, not the plain mean of 100 % and 80 %
    assert found.baseline == Ratio(81, 101)
    assert found.baseline.rate == Decimal("0.8020")
    assert of(found, "XC-S1-C1").deduction == Decimal("0.00")  # above the baseline
    assert of(found, "XC-S1-C2").deduction == Decimal("0.20")  # 80.20 − 80.00 points


def test_it_deducts_k_points_per_point_of_weighted_satisfaction_below_the_baseline(town: Town) -> None:
    # given: 95 % against 75 % satisfied + 10 % basically satisfied (weighted 84 %, w = 0.9)
    rolled(town.grid, evaluations=100, satisfied=95)
    rolled(town.far_grid, evaluations=100, satisfied=75, basically=10)

    # when
    found = communities()
    with override_settings(STATISTICS={"basic_weight": 0.9, "deduction_per_point": 2.5}):
        steeper = communities()

    # then: baseline (95 + 84) / 200 = 89.50 %; 84.00 is 5.50 points below it
    assert found.baseline.rate == Decimal("0.8950")
    assert of(found, "XC-S1-C2").deduction == Decimal("5.50")
    assert of(steeper, "XC-S1-C2").deduction == Decimal("13.75")
    assert of(found, "XC-S1-C1").deduction == of(steeper, "XC-S1-C1").deduction == 0


# --- composite -----------------------------------------------------------------------------------


@pytest.fixture
def two_communities(town: Town) -> None:
    """西里: responded 9/10, solved 80/100, satisfied 90/100; 东里: 10/10, 70/100, 70/100."""
    rolled(
        town.grid,
        assigned=10,
        responded=9,
        evaluations=100,
        satisfied=90,
        solved=80,
        dispatches=10,
        returns=2,
    )
    rolled(town.far_grid, assigned=10, responded=10, evaluations=100, satisfied=70, solved=70)


def test_it_scores_the_composite_with_the_default_weights(two_communities: None) -> None:
    # when
    found = communities()

    # then: 0.1 × 90 + 0.5 × 80 + 0.4 × 90 = 85; 0.1 × 100 + 0.5 × 70 + 0.4 × 70 = 73, less 10
    # points for lying 10 points below the baseline of 80 %
    west, east = of(found, "XC-S1-C1"), of(found, "XC-S1-C2")
    assert (west.score, west.deduction, west.composite, west.composite_rank) == (
        D("85.00"),
        D("0.00"),
        D("85.00"),
        1,
    )
    assert (east.score, east.deduction, east.composite, east.composite_rank) == (
        D("73.00"),
        D("10.00"),
        D("63.00"),
        2,
    )
    assert [s.unit.code for s in found.standings] == ["XC-S1-C1", "XC-S1-C2"]
    assert not west.insufficient_data and not east.insufficient_data


@override_settings(ASSESSMENT_WEIGHTS={"satisfaction": 0.5, "return_rate": 0.5})
def test_it_scores_the_composite_with_configured_weights(two_communities: None) -> None:
    # when
    found = communities()

    # then: a rate where less is better counts as (1 − rate): 0.5 × 90 + 0.5 × (100 − 20) = 85;
    # 东里 dispatched nothing, so its return rate adds nothing and its composite is not ranked
    west, east = of(found, "XC-S1-C1"), of(found, "XC-S1-C2")
    assert found.weights == {"satisfaction": Decimal("0.5"), "return_rate": Decimal("0.5")}
    assert (west.score, west.composite, west.composite_rank) == (D("85.00"), D("85.00"), 1)
    assert (east.score, east.deduction, east.composite, east.composite_rank) == (
        D("35.00"),
        D("10.00"),
        D("25.00"),
        None,
    )
    assert east.missing == ("return_rate",) and east.insufficient_data
    assert found.standings[-1] == east


def test_it_lists_every_unit_of_the_kind_even_without_cases(town: Town) -> None:
    # when
    found = assess(**OCTOBER, district=town.district, kind="street")
    departments = assess(**OCTOBER, district=town.district, kind="department")

    # then
    [street] = found.standings
    assert (street.unit, street.figures.accepted, street.score, street.composite_rank) == (
        town.street,
        0,
        D("0.00"),
        None,
    )
    assert set(street.missing) == {"response_rate", "solved_rate", "satisfaction", "satisfaction_weighted"}
    assert all(rank is None for rank in street.ranks.values())
    assert found.baseline == Ratio(0, 0) and street.deduction == 0
    assert [s.unit.code for s in departments.standings] == ["D-CG", "D-SW"]


def test_it_assesses_departments_by_what_they_handled(town: Town) -> None:
    # given: 城管局 handled cases in two communities; a community handled one itself
    rolled(town.grid, handler=town.urban, evaluations=4, satisfied=3)
    rolled(town.far_grid, handler=town.urban, evaluations=6, satisfied=6)
    rolled(town.grid, handler=town.community, evaluations=10, satisfied=1)

    # when
    found = assess(**OCTOBER, district=town.district, kind="department")

    # then: only departments, and the baseline is theirs alone
    assert [s.unit.code for s in found.standings] == ["D-CG", "D-SW"]
    assert of(found, "D-CG").rate("satisfaction") == Ratio(9, 10)
    assert found.baseline == Ratio(9, 10)


def test_it_refuses_an_unknown_kind(town: Town) -> None:
    with pytest.raises(ValueError):
        assess(**OCTOBER, district=town.district, kind="grid")


# --- exclusions ----------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Iterator[Callable[[str], None]]:
    traveller = time_machine.travel(at("2026-10-12 09:00"), tick=False)
    shift = traveller.start()
    yield lambda text: shift.move_to(at(text))
    traveller.stop()


def rated(new_case: CaseMaker, centre: User, chen: User, town: Town, satisfaction: str) -> Case:
    case = new_case()
    services.case_accept(case=case, actor=centre)
    services.case_dispatch(case=case, actor=centre, lead=town.urban)
    services.case_acknowledge(case=case, actor=chen)
    services.case_resolve(case=case, actor=chen, result="已劝离摊贩")
    return services.case_evaluate(case=case, actor=centre, satisfaction=satisfaction, solved=True)


def fold() -> None:
    while rollups.refresh():
        pass


def test_it_leaves_an_approved_exclusion_out_and_lists_it(
    new_case: CaseMaker,
    centre: User,
    chen: User,
    zhao: User,
    supervisor: User,
    town: Town,
    clock: Callable[[str], None],
) -> None:
    # given: two cases of 西里社区 handled by 城管局, one rated dissatisfied
    rated(new_case, centre, chen, town, "satisfied")
    spiteful = rated(new_case, centre, chen, town, "dissatisfied")
    fold()
    before = communities()

    # when: the community asks to exclude the dissatisfied one as malicious and it is approved
    clock("2026-10-20 10:00")
    case_request_exclusion(case=spiteful, actor=zhao, reason="malicious", note="同一号码恶意投诉")
    case_exclude(case=spiteful, actor=supervisor, note="核实属实")
    fold()
    after = communities()
    departments = assess(**OCTOBER, district=town.district, kind="department")

    # then
    assert of(before, "XC-S1-C1").rate("satisfaction") == Ratio(1, 2)
    assert of(before, "XC-S1-C1").exclusions == []
    assert of(after, "XC-S1-C1").rate("satisfaction") == Ratio(1, 1)
    assert of(after, "XC-S1-C1").figures.accepted == 1
    assert [x.case.number for x in of(after, "XC-S1-C1").exclusions] == [spiteful.number]
    assert [x.case.number for x in after.exclusions] == [spiteful.number]
    assert of(after, "XC-S1-C2").exclusions == []
    assert of(departments, "D-CG").rate("satisfaction") == Ratio(1, 1)
    assert [x.case.number for x in of(departments, "D-CG").exclusions] == [spiteful.number]
    november = assess(
        start=date(2026, 11, 1), end=date(2026, 12, 1), district=town.district, kind="community"
    )
    assert november.exclusions == []  # approved in October, listed for October only


# --- settings ------------------------------------------------------------------------------------


def test_it_names_the_same_rates_as_the_settings() -> None:
    assert assessment.RATES == settings.ASSESSMENT_RATES
    assert set(settings.ASSESSMENT_WEIGHTS) <= set(assessment.RATES)


def test_it_reads_valid_weights() -> None:
    assert _assessment_weights("") == {"response_rate": 0.1, "solved_rate": 0.5, "satisfaction": 0.4}
    assert _assessment_weights('{"satisfaction": 1, "return_rate": 0}') == {
        "satisfaction": 1.0,
        "return_rate": 0.0,
    }


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("not json", "must be JSON"),
        ("[1]", "must be an object"),
        ("{}", "must be an object"),
        ('{"speed": 1}', "names no rate speed"),
        ('{"satisfaction": -0.1}', "≥ 0"),
        ('{"satisfaction": "1"}', "≥ 0"),
        ('{"satisfaction": true}', "≥ 0"),
        ('{"satisfaction": {"a": 1}}', "≥ 0"),
    ],
)
def test_it_refuses_bad_weights(raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        _assessment_weights(raw)


def test_it_refuses_to_start_with_bad_weights() -> None:
    env = {**os.environ, "SECRET_KEY": "x", "CIVICGRID_ASSESSMENT_WEIGHTS": '{"solved": 1}'}
    started = subprocess.run(
        [sys.executable, "-c", "import civicgrid.settings"], env=env, capture_output=True, text=True
    )

    assert started.returncode != 0
    assert "ConfigError: CIVICGRID_ASSESSMENT_WEIGHTS names no rate solved" in started.stderr
