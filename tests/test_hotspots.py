"""Hot spots and trends (苗头性问题): top lists, repeated requests, the Poisson test, trend alerts."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from itertools import count
from typing import TypedDict

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from civicgrid.analytics import figures, hotspots, metrics, rollups
from civicgrid.analytics.hotspots import Request, is_repeat, poisson_tail
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case, Event
from civicgrid.catalogue.models import Item
from civicgrid.org.models import Building, Unit
from tests.conftest import Town, at


class Period(TypedDict):
    start: date
    end: date


class Moments(TypedDict):
    start: datetime
    end: datetime


OCTOBER = Period(start=date(2026, 10, 1), end=date(2026, 11, 1))
# The same days as moments, for what reads the cases themselves (repeats, metrics).
OCTOBER_MOMENTS = Moments(start=at("2026-10-01 00:00"), end=at("2026-11-01 00:00"))
_numbers = count(1)


def accepted(
    place: Unit,
    when: str | datetime,
    *,
    item: Item | None = None,
    phone: str = "",
    building: Building | None = None,
    excluded: bool = False,
    confidential: bool = False,
) -> Case:
    """A case registered and accepted at `when` (an accept event, as the services write it), folded
    into the rollups as the worker would."""
    moment = at(when) if isinstance(when, str) else when
    case = Case.objects.create(
        number=f"H{next(_numbers):08d}",
        kind="complaint",
        description="…",
        place=place,
        item=item,
        building=building,
        channel="hotline",
        reporter_phone=phone,
        reporter_confidential=confidential,
        status="accepted",
        created_at=moment,
        accepted_at=moment,
        excluded_at=moment + timedelta(days=1) if excluded else None,
    )
    Event.objects.create(case=case, seq=1, action="accept", to_status="accepted", at=moment)
    rollups.fold([case.pk])
    return case


# --- top places and items ----------------------------------------------------------------------


def test_it_ranks_the_communities_of_a_street_with_their_share(town: Town) -> None:
    # given: three cases in 西里社区 (two grids), one in 东里社区, one known only to the street,
    # one excluded and one accepted in September
    for grid in (town.grid, town.grid, town.neighbour_grid, town.far_grid, town.street):
        accepted(grid, "2026-10-12 09:00", item=town.item)
    accepted(town.far_grid, "2026-10-12 09:00", item=town.item, excluded=True)
    accepted(town.far_grid, "2026-09-30 23:59", item=town.item)

    # when
    top = hotspots.top_places(**OCTOBER, place=town.street)

    # then
    assert (top.total, top.unattributed) == (5, 1)
    assert [(r.key, r.label, r.count) for r in top.rows] == [
        ("XC-S1-C1", "西里社区", 3),
        ("XC-S1-C2", "东里社区", 1),
    ]
    assert top.rows[0].share == metrics.Ratio(3, 5)


def test_it_counts_as_the_figures_count_accepted_cases(town: Town) -> None:
    # given cases accepted in October across the street, one excluded, one classified nowhere
    for grid, item in ((town.grid, town.item), (town.far_grid, None), (town.neighbour_grid, town.item)):
        accepted(grid, "2026-10-20 18:00", item=item)
    accepted(town.grid, "2026-10-31 23:30", item=town.urgent_item)  # still October, local time
    accepted(town.grid, "2026-10-21 09:00", item=town.item, excluded=True)

    # then the top lists count what the figures count as 受理量 (the same rollups)
    total = figures.figures(**OCTOBER, place=town.street).total.accepted
    assert total == 4
    assert hotspots.top_places(**OCTOBER, place=town.street).total == total
    assert hotspots.top_items(**OCTOBER, place=town.street).total == total


def test_it_ranks_grids_when_asked_and_cuts_at_the_limit(town: Town) -> None:
    accepted(town.grid, "2026-10-12 09:00")
    accepted(town.far_grid, "2026-10-12 09:00")
    accepted(town.far_grid, "2026-10-13 09:00")

    top = hotspots.top_places(**OCTOBER, place=town.district, level="grid", limit=1)

    assert [(r.key, r.count) for r in top.rows] == [("XC-S1-C2-G1", 2)]
    assert top.total == 3


def test_it_ranks_items_and_sets_unclassified_cases_apart(town: Town) -> None:
    for item in (town.item, town.item, town.urgent_item, None):
        accepted(town.grid, "2026-10-12 09:00", item=item)

    top = hotspots.top_items(**OCTOBER, place=town.community)

    assert [(r.key, r.label, r.count) for r in top.rows] == [
        ("ZHZF-301", "占道经营", 2),
        ("ZHZF-101", "燃气泄漏", 1),
    ]
    assert (top.total, top.unattributed) == (4, 1)
    assert top.rows[0].share.rate is not None and str(top.rows[0].share.rate) == "0.5000"


@pytest.mark.parametrize(
    ("level", "place", "message"), [("province", "district", "须为"), ("street", "community", "不能高于")]
)
def test_it_refuses_a_level_it_cannot_group_at(town: Town, level: str, place: str, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        hotspots.top_places(**OCTOBER, place=getattr(town, place), level=level)

    assert raised.value.field == "level"
    assert message in raised.value.message


def test_it_groups_a_grid_at_its_own_level_by_default(town: Town) -> None:
    accepted(town.grid, "2026-10-12 09:00")

    top = hotspots.top_places(**OCTOBER, place=town.grid)

    assert [(r.key, r.count) for r in top.rows] == [("XC-S1-C1-G1", 1)]


# --- repeated requests -------------------------------------------------------------------------


def test_it_judges_a_repeat_on_phone_or_building_and_item_within_30_days() -> None:
    first = Request(id=1, at=at("2026-10-01 09:00"), phone="13812341234", building_id=7, item_id=3)

    def later(delta: timedelta, **fields: object) -> Request:
        values: dict[str, object] = {"phone": "", "building_id": None, "item_id": None, **fields}
        return Request(id=2, at=first.at + delta, **values)  # type: ignore[arg-type]

    days30, day = timedelta(days=30), timedelta(days=1)
    assert is_repeat(later(days30, phone="13812341234"), [first])
    assert not is_repeat(later(days30 + timedelta(minutes=1), phone="13812341234"), [first])
    assert is_repeat(later(day, building_id=7, item_id=3), [first])
    assert not is_repeat(later(day, building_id=7, item_id=4), [first])
    assert not is_repeat(later(day, building_id=7), [Request(id=1, at=first.at, building_id=7)])
    assert not is_repeat(later(-day, phone="13812341234"), [first])  # the earlier one is not a repeat
    assert is_repeat(Request(id=2, at=first.at, phone=first.phone), [first])  # same moment: by id
    assert not is_repeat(first, [Request(id=2, at=first.at, phone=first.phone)])
    assert not is_repeat(later(day), [first])  # no phone, no building: nothing to repeat


def test_it_groups_repeats_by_phone_up_to_exactly_30_days_apart(town: Town) -> None:
    # given: one phone calling on 1 Oct, 31 Oct (30 days later: a repeat); another phone calling on
    # 1 Oct and 31 Oct one minute later than 30 days (no repeat)
    a1 = accepted(town.grid, "2026-10-01 09:00", phone="13800000001")
    a2 = accepted(town.grid, "2026-10-31 09:00", phone="13800000001")
    accepted(town.grid, "2026-10-01 09:00", phone="13800000002")
    accepted(town.grid, "2026-10-31 09:01", phone="13800000002")

    # when
    found = hotspots.repeated_groups(**OCTOBER_MOMENTS, place=town.district)

    # then
    assert found.by_building_item == []
    [group] = found.by_phone
    assert (group.basis, group.key, group.label) == ("phone", "138****0001", "138****0001")
    assert group.numbers == [a1.number, a2.number]
    assert (group.count, group.repeating, group.elsewhere) == (2, [a2.number], 0)
    assert (group.first, group.last) == (at("2026-10-01 09:00"), at("2026-10-31 09:00"))
    assert found.repeat_cases == 1


def test_it_chains_a_building_and_item_and_reaches_30_days_back(town: Town) -> None:
    # given: 西里1号楼 × 占道经营 on 10 Sep (before the period), 5 Oct and 20 Oct; another item there,
    # and the same item in another building
    other = Building.objects.create(grid=town.grid, code="B-0002", name="西里2号楼")
    cases = [
        accepted(town.grid, day, item=town.item, building=town.building)
        for day in ("2026-09-10 08:00", "2026-10-05 08:00", "2026-10-20 08:00")
    ]
    accepted(town.grid, "2026-10-06 08:00", item=town.urgent_item, building=town.building)
    accepted(town.grid, "2026-10-07 08:00", item=town.item, building=other)

    # when
    found = hotspots.repeated_groups(**OCTOBER_MOMENTS, place=town.community)

    # then
    [group] = found.by_building_item
    assert (group.key, group.label) == ("B-0001/ZHZF-301", "西里1号楼 · 占道经营")
    assert group.numbers == [c.number for c in cases]
    assert group.repeating == [cases[1].number, cases[2].number]
    assert group.first == at("2026-09-10 08:00")
    assert found.repeat_cases == 2


def test_it_leaves_out_chains_that_end_before_the_period_and_excluded_cases(town: Town) -> None:
    accepted(town.grid, "2026-09-05 08:00", phone="13800000003")
    accepted(town.grid, "2026-09-20 08:00", phone="13800000003")  # a repeat, but in September
    accepted(town.grid, "2026-10-03 08:00", phone="13800000004", excluded=True)
    accepted(town.grid, "2026-10-04 08:00", phone="13800000004")  # its only twin is excluded
    accepted(town.grid, "2026-10-05 08:00", phone="13800000005")
    accepted(town.grid, "2026-10-06 08:00", phone="13800000005", excluded=True)  # excluded: no repeat

    found = hotspots.repeated_groups(**OCTOBER_MOMENTS)

    assert (found.by_phone, found.repeat_cases) == ([], 0)


def test_it_counts_twins_outside_the_place_without_naming_them_and_hides_secret_phones(town: Town) -> None:
    # given: a caller reporting about 东里社区 on 2 Oct, then 西里社区 on 9 Oct; a confidential reporter
    accepted(town.far_grid, "2026-10-02 08:00", phone="13800000006")
    mine = accepted(town.grid, "2026-10-09 08:00", phone="13800000006")
    accepted(town.grid, "2026-10-02 08:00", phone="13800000007", confidential=True)
    secret = accepted(town.grid, "2026-10-03 08:00", phone="13800000007")

    found = hotspots.repeated_groups(**OCTOBER_MOMENTS, place=town.community)

    by_key = {g.repeating[0]: g for g in found.by_phone}
    assert (by_key[mine.number].numbers, by_key[mine.number].elsewhere) == ([mine.number], 1)
    assert (by_key[secret.number].key, by_key[secret.number].label) == ("", "（号码保密）")


def test_it_agrees_with_the_repeat_share_figure(town: Town) -> None:
    # given: repeats by phone, by building and item, and by both at once
    spot = town.building
    accepted(town.grid, "2026-09-25 08:00", phone="13800000008", item=town.item, building=spot)
    accepted(town.grid, "2026-10-02 08:00", phone="13800000008")
    accepted(town.grid, "2026-10-03 08:00", phone="13800000009", item=town.item, building=spot)
    accepted(town.far_grid, "2026-10-04 08:00", phone="13800000008")
    accepted(town.far_grid, "2026-10-20 08:00")

    # when
    found = hotspots.repeated_groups(**OCTOBER_MOMENTS)

    # then
    assert found.repeat_cases == metrics.repeat_share(**OCTOBER_MOMENTS).numerator == 3


# --- the Poisson test --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "lam", "expected"),
    [
        (10, 3.0, 0.001102488130115479742),
        (5, 1.0, 0.003659846827343712345),
        (10, 2.0, 0.00004649807501726380825),
        (15, 10.0, 0.08345847293466282491),
        (3, 10.0, 0.9972306042844884241),
        (50, 1.0, 1.233750897909735127e-65),
        (200, 50.0, 2.024759014847356426e-57),
    ],
)
def test_it_computes_the_poisson_tail_exactly(k: int, lam: float, expected: float) -> None:
    assert poisson_tail(k, lam) == pytest.approx(expected, rel=1e-12)


def test_it_bounds_the_poisson_tail() -> None:
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(1, 0.5) == pytest.approx(1 - math.exp(-0.5), rel=1e-15)
    assert poisson_tail(1, 0.0) == 0.0
    assert poisson_tail(100_000, 100_000.0) == pytest.approx(0.5, abs=0.01)


# --- trend alerts ------------------------------------------------------------------------------

AS_OF = date(2026, 10, 29)  # window: 22–28 October; baseline: 27 August – 21 October
MIDNIGHT = at("2026-10-29 00:00")


def weekly(place: Unit, item: Item, per_week: list[int]) -> None:
    """Cases per week, oldest first, ending with the window's week (9 weeks: 8 baseline + window)."""
    for weeks_back, n in enumerate(reversed(per_week)):
        for i in range(n):
            accepted(place, MIDNIGHT - timedelta(weeks=weeks_back, days=1, minutes=i + 1), item=item)


def test_it_alerts_on_a_spike_and_not_on_steady_volume(town: Town) -> None:
    # given: 占道经营 in 西里社区 at 2 a week, then 10 in the last week; 燃气泄漏 in 东里社区
    # steadily at 10 a week, 15 in the last week (p = 0.083: not significant)
    weekly(town.grid, town.item, [2] * 8 + [10])
    weekly(town.far_grid, town.urgent_item, [10] * 8 + [15])

    # when
    alerts = hotspots.trend_alerts(as_of=AS_OF, place=town.street)

    # then
    [alert] = alerts
    assert (alert.place.code, alert.item.code, alert.observed) == ("XC-S1-C1", "ZHZF-301", 10)
    assert alert.expected == pytest.approx(2.0)
    assert alert.p_value == pytest.approx(0.00004649807501726380825, rel=1e-9)
    assert alert.ratio == pytest.approx(5.0)


def test_it_lets_a_new_pair_alert_only_from_the_minimum_count(town: Town) -> None:
    weekly(town.grid, town.item, [0] * 8 + [4])
    weekly(town.far_grid, town.item, [0] * 8 + [5])

    alerts = hotspots.trend_alerts(as_of=AS_OF, place=town.street)

    assert [(a.place.code, a.observed, a.expected) for a in alerts] == [("XC-S1-C2", 5, 1.0)]
    assert alerts[0].p_value == pytest.approx(0.003659846827343712345, rel=1e-9)


def test_it_sums_grids_into_their_community_and_skips_excluded_cases(town: Town) -> None:
    weekly(town.grid, town.item, [0] * 8 + [3])
    weekly(town.neighbour_grid, town.item, [0] * 8 + [2])
    for i in range(5):
        accepted(town.far_grid, MIDNIGHT - timedelta(hours=i + 1), item=town.item, excluded=True)

    by_community = hotspots.trend_alerts(as_of=AS_OF, place=town.street)
    by_grid = hotspots.trend_alerts(as_of=AS_OF, place=town.street, level="grid")

    assert [(a.place.code, a.observed) for a in by_community] == [("XC-S1-C1", 5)]
    assert by_grid == []


def test_it_leaves_out_cases_placed_above_the_level_and_before_the_baseline(town: Town) -> None:
    weekly(town.grid, town.item, [0] * 8 + [5])
    for i in range(3):  # known only to the street: no community holds them
        accepted(town.street, MIDNIGHT - timedelta(hours=i + 1), item=town.item)
    for i in range(20):  # the day before the 56 days of the baseline
        accepted(town.grid, MIDNIGHT - timedelta(days=63, minutes=i + 1), item=town.item)

    alerts = hotspots.trend_alerts(as_of=AS_OF, place=town.street)

    assert [(a.place.code, a.observed, a.expected) for a in alerts] == [("XC-S1-C1", 5, 1.0)]


def test_it_counts_the_baseline_from_its_first_day_to_the_window(town: Town) -> None:
    # 8 cases on the baseline's first day, 8 in September (a whole month), 8 on its last day
    for when in ("2026-08-27 00:30", "2026-09-01 10:00", "2026-10-21 23:30"):
        for i in range(8):
            accepted(town.grid, at(when) + timedelta(minutes=i), item=town.item)
    weekly(town.grid, town.item, [0] * 8 + [10])

    [alert] = hotspots.trend_alerts(as_of=AS_OF, place=town.street)

    assert alert.observed == 10
    assert alert.expected == pytest.approx(24 * 7 / 56)


def test_it_reads_the_thresholds_from_the_settings(town: Town, settings: SettingsWrapper) -> None:
    weekly(town.grid, town.item, [2] * 8 + [10])
    settings.TRENDS = {**settings.TRENDS, "alpha": 0.00001}
    assert hotspots.trend_alerts(as_of=AS_OF, place=town.street) == []

    settings.TRENDS = {**settings.TRENDS, "alpha": 0.01, "min_count": 11}
    assert hotspots.trend_alerts(as_of=AS_OF, place=town.street) == []


def test_it_sorts_alerts_by_p_value(town: Town) -> None:
    weekly(town.grid, town.item, [0] * 8 + [6])
    weekly(town.far_grid, town.item, [0] * 8 + [9])

    alerts = hotspots.trend_alerts(as_of=AS_OF, place=town.district, level="community")

    assert [a.observed for a in alerts] == [9, 6]
    assert alerts[0].p_value < alerts[1].p_value
