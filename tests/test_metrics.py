"""The statistics of DESIGN §4: the published cohort, and each definition on real case histories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypedDict

import pytest
import time_machine

from civicgrid.accounts.models import User
from civicgrid.analytics import metrics
from civicgrid.analytics.metrics import Ratio
from civicgrid.cases import services
from civicgrid.cases.models import Case, Event
from civicgrid.org.models import Unit
from tests.conftest import CaseMaker, Town, at


class Period(TypedDict):
    start: datetime
    end: datetime


OCTOBER = Period(start=at("2026-10-01 00:00"), end=at("2026-11-01 00:00"))
NOVEMBER = Period(start=at("2026-11-01 00:00"), end=at("2026-12-01 00:00"))


@pytest.fixture
def clock() -> Iterator[Callable[[str], None]]:
    """Move the frozen clock to 'YYYY-MM-DD HH:MM' (Asia/Shanghai)."""
    traveller = time_machine.travel(at("2026-10-12 09:00"), tick=False)
    shift = traveller.start()
    yield lambda text: shift.move_to(at(text))
    traveller.stop()


@pytest.fixture
def handled(
    new_case: CaseMaker, centre: User, chen: User, town: Town, clock: Callable[[str], None]
) -> Callable[..., Case]:
    """A case accepted at 09:00 on `day`, dispatched to 城管局 and acknowledged (via the real services)."""

    def make(day: str = "2026-10-12", **fields: object) -> Case:
        clock(f"{day} 09:00")
        case = new_case(**fields)
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        services.case_acknowledge(case=case, actor=chen)
        return case

    return make


def resolve(case: Case, actor: User, clock: Callable[[str], None], when: str) -> Case:
    clock(when)
    return services.case_resolve(case=case, actor=actor, result="已劝离摊贩")


class Cohort:
    """The published check (DESIGN §4): 24,932 due cases, 23,974 resolved in P, 22,345 on time."""

    DUE, RESOLVED, ON_TIME = 24_932, 23_974, 22_345
    RESOLVED_AFTER_P = 300  # resolved, but only after the period: not closed in it
    DUE_LATER = 50  # due next month, already resolved: not due in P

    def __init__(self, place: Unit) -> None:
        self.place = place
        deadline = at("2026-10-20 00:00")
        resolutions = (
            [deadline - timedelta(days=1)] * self.ON_TIME
            + [deadline + timedelta(days=5)] * (self.RESOLVED - self.ON_TIME)
            + [at("2026-11-05 10:00")] * self.RESOLVED_AFTER_P
            + [None] * (self.DUE - self.RESOLVED - self.RESOLVED_AFTER_P)
        )
        plan = [(deadline, r) for r in resolutions] + [(at("2026-11-10 00:00"), deadline)] * self.DUE_LATER
        cases = Case.objects.bulk_create(
            [self._case(n, resolve_by) for n, (resolve_by, _) in enumerate(plan)], batch_size=2000
        )
        Event.objects.bulk_create(
            [self._resolve(case, moment) for case, (_, moment) in zip(cases, plan, strict=True) if moment],
            batch_size=2000,
        )

    def _case(self, n: int, resolve_by: datetime) -> Case:
        return Case(
            number=f"C{n:08d}",
            tracking_code=f"T{n:09d}",
            kind="complaint",
            description="占道经营",
            place=self.place,
            channel="hotline",
            status="in_progress",
            created_at=at("2026-09-25 10:00"),
            accepted_at=at("2026-09-25 10:30"),
            resolve_by=resolve_by,
        )

    def _resolve(self, case: Case, moment: datetime) -> Event:
        return Event(
            case=case, seq=1, action="resolve", from_status="in_progress", to_status="resolved", at=moment
        )


def test_it_reproduces_the_published_closure_and_on_time_rates(town: Town) -> None:
    # given
    Cohort(town.grid)

    # when
    closure = metrics.closure_rate(**OCTOBER, place=town.district)
    on_time = metrics.on_time_rate(**OCTOBER, place=town.district)

    # then
    assert closure == Ratio(23_974, 24_932)
    assert closure.rate == Decimal("0.9616")
    assert on_time == Ratio(22_345, 24_932)
    assert on_time.rate == Decimal("0.8962")


def test_it_counts_a_resolution_after_the_period_as_not_closed(
    handled: Callable[..., Case], chen: User, clock: Callable[[str], None]
) -> None:
    # given: three cases due in October; one resolved in time, one late in October, one in November
    cases = [handled() for _ in range(3)]
    assert all(c.resolve_by is not None for c in cases)
    assert all(OCTOBER["start"] <= c.resolve_by < OCTOBER["end"] for c in cases if c.resolve_by is not None)
    resolve(cases[0], chen, clock, "2026-10-15 10:00")
    resolve(cases[1], chen, clock, "2026-10-28 10:00")
    resolve(cases[2], chen, clock, "2026-11-02 10:00")

    # when
    closure = metrics.closure_rate(**OCTOBER)
    on_time = metrics.on_time_rate(**OCTOBER)

    # then
    assert closure == Ratio(2, 3)
    assert closure.rate == Decimal("0.6667")
    assert on_time == Ratio(1, 3)


def test_it_leaves_out_cases_outside_the_place(handled: Callable[..., Case], town: Town) -> None:
    # given
    handled()
    handled(place=town.far_grid, building=None)

    # when
    in_community = metrics.accepted(**OCTOBER, place=town.community)
    in_street = metrics.accepted(**OCTOBER, place=town.street)
    due_in_community = metrics.closure_rate(**OCTOBER, place=town.community)

    # then
    assert (in_community, in_street) == (1, 2)
    assert due_in_community.denominator == 1


def test_it_shares_out_evaluations(
    handled: Callable[..., Case], chen: User, centre: User, clock: Callable[[str], None]
) -> None:
    # given: four resolutions, three rated
    cases = [resolve(handled(), chen, clock, "2026-10-14 10:00") for _ in range(4)]
    clock("2026-10-15 10:00")
    for case, (satisfied, solved) in zip(
        cases, [("satisfied", True), ("basically", False), ("dissatisfied", True)], strict=False
    ):
        services.case_evaluate(case=case, actor=centre, satisfaction=satisfied, solved=solved)

    # when
    shares = {
        "satisfaction": metrics.satisfaction(**OCTOBER),
        "weighted": metrics.satisfaction_weighted(**OCTOBER),
        "solved": metrics.solved_rate(**OCTOBER),
        "participation": metrics.participation(**OCTOBER),
    }

    # then
    assert shares["satisfaction"] == Ratio(2, 3)
    assert shares["weighted"] == Ratio(Decimal("1.9"), 3)
    assert shares["weighted"].rate == Decimal("0.6333")
    assert shares["solved"] == Ratio(2, 3)
    assert shares["participation"] == Ratio(3, 4)
    assert metrics.satisfaction_weighted(**OCTOBER, weight=Decimal("0.5")).rate == Decimal("0.5000")


def test_it_never_counts_a_case_closed_without_a_rating_as_satisfied(
    handled: Callable[..., Case], chen: User, centre: User, clock: Callable[[str], None]
) -> None:
    # given one resolution rated satisfied and one closed by the centre without any rating
    rated, unrated = (resolve(handled(), chen, clock, "2026-10-14 10:00") for _ in range(2))
    clock("2026-10-15 10:00")
    services.case_evaluate(case=rated, actor=centre, satisfaction="satisfied", solved=True)
    clock("2026-10-20 10:00")
    closed = services.case_close(case=unrated, actor=centre)

    # then the closed case is "not evaluated": in no satisfaction figure, only in what was not rated
    assert closed.status == "closed" and not closed.evaluations.exists()
    assert metrics.satisfaction(**OCTOBER) == Ratio(1, 1)
    assert metrics.solved_rate(**OCTOBER) == Ratio(1, 1)
    assert metrics.participation(**OCTOBER) == Ratio(1, 2)


def test_it_counts_responses_by_their_deadline(
    new_case: CaseMaker, centre: User, chen: User, town: Town, clock: Callable[[str], None]
) -> None:
    # given: two dispatched at 09:00 with 24 hours to report in; one reports in the day after
    cases = []
    for _ in range(2):
        clock("2026-10-12 09:00")
        case = new_case()
        services.case_accept(case=case, actor=centre)
        cases.append(services.case_dispatch(case=case, actor=centre, lead=town.urban))
    clock("2026-10-12 15:00")
    services.case_acknowledge(case=cases[0], actor=chen)
    clock("2026-10-14 15:00")
    services.case_acknowledge(case=cases[1], actor=chen)

    # when
    rate = metrics.response_rate(**OCTOBER)

    # then
    assert rate == Ratio(1, 2)


def test_it_counts_returns_and_reopenings(
    handled: Callable[..., Case],
    centre: User,
    chen: User,
    supervisor: User,
    town: Town,
    clock: Callable[[str], None],
) -> None:
    # given: one case returned and dispatched again; another resolved twice after a reopening
    returned = handled()
    services.case_return(case=returned, actor=chen, reason="不属于本单位职责")
    services.case_dispatch(case=returned, actor=centre, lead=town.urban)
    reopened = resolve(handled(), chen, clock, "2026-10-13 10:00")
    services.case_reopen(case=reopened, actor=supervisor, reason="群众反映未解决")
    resolve(reopened, chen, clock, "2026-10-14 10:00")

    # when
    returns = metrics.return_rate(**OCTOBER)
    reopenings = metrics.reopen_rate(**OCTOBER)

    # then
    assert returns == Ratio(1, 3)
    assert reopenings == Ratio(1, 2)


def test_it_shares_out_proactive_findings(handled: Callable[..., Case]) -> None:
    # given
    handled(proactive=True, channel="grid_app")
    handled()

    # when
    share = metrics.proactive_share(**OCTOBER)

    # then
    assert share == Ratio(1, 2)
    assert share.rate == Decimal("0.5000")


def test_it_gives_no_rate_for_a_period_with_nothing(handled: Callable[..., Case]) -> None:
    # given: activity in October only
    handled()

    # when
    figures = [
        f(**NOVEMBER)
        for f in (
            metrics.response_rate,
            metrics.closure_rate,
            metrics.on_time_rate,
            metrics.satisfaction,
            metrics.satisfaction_weighted,
            metrics.participation,
            metrics.solved_rate,
            metrics.return_rate,
            metrics.reopen_rate,
            metrics.proactive_share,
        )
    ]

    # then
    assert metrics.accepted(**NOVEMBER) == 0
    assert all(f == Ratio(0, 0) and f.rate is None for f in figures)


def test_it_counts_cases_open_past_their_deadline_at_the_end(
    handled: Callable[..., Case],
    case_in: Callable[[str], Case],
    chen: User,
    centre: User,
    town: Town,
    clock: Callable[[str], None],
) -> None:
    # given: four cases due in October; one resolved in time, one resolved only in November,
    # one withdrawn, one left open; and one not yet accepted (no deadline)
    cases = [handled() for _ in range(4)]
    deadline = max(c.resolve_by for c in cases if c.resolve_by is not None)
    assert deadline < OCTOBER["end"]
    resolve(cases[0], chen, clock, "2026-10-14 10:00")
    clock("2026-10-16 10:00")
    services.case_withdraw(case=cases[2], actor=centre, reason="群众撤回")
    resolve(cases[1], chen, clock, "2026-11-03 10:00")
    clock("2026-11-03 11:00")
    case_in("submitted")

    # when
    at_end_of_october = metrics.overdue(end=OCTOBER["end"])
    at_end_of_november = metrics.overdue(end=NOVEMBER["end"])
    before_the_deadline = metrics.overdue(end=deadline)
    elsewhere = metrics.overdue(end=OCTOBER["end"], place=town.other_community)

    # then
    assert at_end_of_october == 2  # the one resolved late, and the one still open
    assert at_end_of_november == 1
    assert before_the_deadline == 0
    assert elsewhere == 0
