"""The fast path equals the definition: on random case histories driven through the real services,
the rollups (figures.py) give exactly what metrics.py recomputes from the event log — for every
figure, both scopes and every grouping — and a rebuild changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import time_machine
from django.db.models import Q
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from civicgrid.accounts.models import User
from civicgrid.analytics import figures, metrics, rollups
from civicgrid.analytics.figures import Figures
from civicgrid.cases import services
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, NotPermitted
from civicgrid.cases.models import Case
from civicgrid.cases.services import exclusions
from civicgrid.cases.states import TransitionNotAllowed
from civicgrid.org.models import Unit
from tests.conftest import CaseMaker, Town, at

DAYS = (date(2026, 9, 28), date(2026, 10, 5), date(2026, 10, 12), date(2026, 10, 19), date(2026, 11, 2))
# Whole months read the monthly rollups.
MONTHS = (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1))


class Cast:
    """Who does what in the random histories."""

    def __init__(self, town: Town, centre: User, supervisor: User, chen: User, sun: User, wang: User) -> None:
        self.town, self.centre, self.supervisor = town, centre, supervisor
        self.handlers = {town.urban.pk: chen, town.water.pk: sun, town.grid.pk: wang}

    def handler(self, case: Case) -> User:
        lead = case.assignments.filter(active=True, role="lead").first()
        if lead is None or lead.unit_id not in self.handlers:
            raise LookupError("nobody in the cast works in the lead unit")
        return self.handlers[lead.unit_id]


def _steps(cast: Cast, choice: int) -> dict[str, Callable[[Case], Any]]:
    town, centre, supervisor = cast.town, cast.centre, cast.supervisor
    satisfaction = ("satisfied", "basically", "dissatisfied")[choice % 3]

    def exclude(case: Case) -> None:
        exclusions.case_request_exclusion(
            case=case, actor=cast.handler(case), reason="malicious", note="恶意"
        )
        exclusions.case_exclude(case=case, actor=supervisor)

    def extend(case: Case) -> None:
        services.case_request_extension(case=case, actor=cast.handler(case), days=2, reason="需协调")
        services.case_approve_extension(case=case, actor=supervisor)

    return {
        "accept": lambda c: services.case_accept(
            case=c, actor=centre, item=(town.item, town.urgent_item)[choice % 2]
        ),
        "reject": lambda c: services.case_reject(case=c, actor=centre, reason="不属于受理范围"),
        "withdraw": lambda c: services.case_withdraw(case=c, actor=centre, reason="群众撤回"),
        "dispatch": lambda c: services.case_dispatch(
            case=c, actor=centre, lead=(town.urban, town.water, town.grid)[choice % 3]
        ),
        "acknowledge": lambda c: services.case_acknowledge(case=c, actor=cast.handler(c)),
        "return": lambda c: services.case_return(case=c, actor=cast.handler(c), reason="非本单位职责"),
        "extend": extend,
        "exclude": exclude,
        "escalate": lambda c: services.case_escalate(case=c, actor=None, auto=True),
        "resolve": lambda c: services.case_resolve(case=c, actor=cast.handler(c), result="已处理"),
        "evaluate": lambda c: services.case_evaluate(
            case=c, actor=centre, solved=choice % 2 == 0, satisfaction=satisfaction
        ),
        "reopen": lambda c: services.case_reopen(case=c, actor=supervisor, reason="群众不满意"),
        "supervise": lambda c: services.case_supervise(case=c, actor=supervisor, note="请加快办理"),
        "close": lambda c: services.case_close(case=c, actor=centre),
    }


# What may come next in each status (repeats make the common path likelier).
NEXT = {
    "submitted": ("accept", "accept", "accept", "reject", "withdraw"),
    "accepted": ("dispatch", "dispatch", "withdraw", "supervise"),
    "dispatched": ("acknowledge", "acknowledge", "return", "escalate", "supervise"),
    "in_progress": ("resolve", "resolve", "resolve", "extend", "escalate", "return", "exclude", "supervise"),
    "resolved": ("evaluate", "evaluate", "close", "reopen", "exclude"),
}
# A plan: per case, a start offset, a phone, and steps of (which next action, hours to wait, a choice).
steps = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 120), st.integers(0, 5)), min_size=1, max_size=9)
plans = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from(["13800000001", "13800000002", ""]), steps),
    min_size=1,
    max_size=4,
)


@pytest.fixture
def cast(town: Town, centre: User, supervisor: User, chen: User, sun: User, wang: User) -> Cast:
    return Cast(town, centre, supervisor, chen, sun, wang)


@pytest.fixture
def traveller() -> Iterator[Callable[[datetime], None]]:
    machine = time_machine.travel(at("2026-09-28 09:00"), tick=False)
    shift = machine.start()
    yield shift.move_to
    machine.stop()


def play(plan: list[Any], *, cast: Cast, new_case: CaseMaker, move: Callable[[datetime], None]) -> None:
    """Drive each planned case through the services; steps the state does not allow are skipped."""
    for offset, phone, planned in plan:
        moment = at("2026-09-28 09:00") + timedelta(hours=7 * offset)
        move(moment)
        reporter = services.Reporter(name="张三", phone=phone)
        case = new_case(reporter=reporter, channel=("api", "hotline")[offset % 2])
        for pick, hours, choice in planned:
            moment += timedelta(hours=hours)
            move(moment)
            case = Case.objects.get(pk=case.pk)
            if case.status not in NEXT:
                break
            name = NEXT[case.status][pick % len(NEXT[case.status])]
            try:
                _steps(cast, choice)[name](case)
            except (NotPermitted, InvalidInput, CaseChangedMeanwhile, TransitionNotAllowed, LookupError):
                continue


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day))


def direct(start: date, end: date, **scope: Any) -> Figures:
    """Every figure recomputed straight from the event log (metrics.py) for whole local days."""
    period = {"start": _midnight(start), "end": _midnight(end), **scope}
    ratios = {name: getattr(metrics, name)(**period) for name in _RATIO_NAMES}
    return Figures(
        accepted=metrics.accepted(**period),
        due=metrics.due(**period),
        overdue=metrics.overdue(end=period["end"], **scope),
        supervised=metrics.supervised(**period),
        **ratios,
    )


_RATIO_NAMES = (
    "proactive_share",
    "repeat_share",
    "response_rate",
    "closure_rate",
    "on_time_rate",
    "satisfaction",
    "satisfaction_weighted",
    "participation",
    "solved_rate",
    "return_rate",
    "reopen_rate",
)


def fold_everything() -> None:
    while rollups.refresh():
        pass


def _check_all(town: Town) -> None:
    for start, end in [*pairwise(DAYS), *pairwise(MONTHS), (MONTHS[0], MONTHS[-1])]:
        for place in (None, town.district, town.community, town.far_grid):
            report = figures.figures(start=start, end=end, place=place)
            assert report.total == direct(start, end, place=place), (start, end)
        for handler in (town.urban, town.water, town.grid):
            report = figures.figures(start=start, end=end, handler=handler)
            assert report.total == direct(start, end, handler=handler), (start, end, handler.code)
    _check_groups(DAYS[0], DAYS[-1], town, days=[(DAYS[1], DAYS[2]), (DAYS[3], DAYS[4])])
    # November: with cases due in October still open at its end (超期 on every day)
    _check_groups(MONTHS[0], MONTHS[-1], town, days=[(MONTHS[2], MONTHS[3])])


def _check_groups(start: date, end: date, town: Town, *, days: list[tuple[date, date]]) -> None:
    """Each group of a grouped report equals the direct figures of its slice of cases."""
    by_item = figures.figures(start=start, end=end, place=town.district, group_by="item")
    for group in by_item.groups:
        where = Q(item__code=group.key) if group.key else Q(item__isnull=True)
        assert group.figures == direct(start, end, place=town.district, where=where), group.key
    by_channel = figures.figures(start=start, end=end, group_by="channel")
    assert by_channel.total == figures.figures(start=start, end=end).total
    for group in by_channel.groups:
        assert group.figures == direct(start, end, where=Q(channel=group.key)), group.key
    assert by_item.total == figures.figures(start=start, end=end, place=town.district).total
    by_unit = figures.figures(start=start, end=end, place=town.street, group_by="unit")
    assert by_unit.total == figures.figures(start=start, end=end, place=town.street).total
    for group in by_unit.groups:
        child = Unit.objects.get(code=group.key)
        assert group.figures == direct(start, end, place=child), group.key
    for first, stop in days:
        counts = figures.per_day(start=first, end=stop, place=None, names=("accepted", "resolves"))
        for group in figures.figures(start=first, end=stop, group_by="day").groups:
            day = date.fromisoformat(group.key)
            assert group.figures == direct(day, day + timedelta(days=1)), group.key
            # the dashboard's trend: the same counts, read alone
            found = counts.get(day, {"accepted": 0, "resolves": 0})
            assert found == {
                "accepted": group.figures.accepted,
                "resolves": group.figures.participation.denominator,
            }


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: a failure prints its plan
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans)
def test_it_gives_from_the_rollups_exactly_what_the_event_log_gives(
    plan: list[Any], cast: Cast, new_case: CaseMaker, traveller: Callable[[datetime], None], town: Town
) -> None:
    # given random histories (accumulating across examples), folded in by the worker's job
    play(plan, cast=cast, new_case=new_case, move=traveller)
    fold_everything()
    # then every figure, scope and grouping agrees with the direct recomputation
    _check_all(town)
    # and a full rebuild changes no figure
    periods = ((DAYS[0], DAYS[-1]), (MONTHS[0], MONTHS[-1]))
    before = [
        figures.figures(start=start, end=end, place=town.district, group_by=group)
        for start, end in periods
        for group in ("handler", "item")
    ]
    rollups.rebuild()
    assert [
        figures.figures(start=start, end=end, place=town.district, group_by=group)
        for start, end in periods
        for group in ("handler", "item")
    ] == before
