"""`civicgrid simulate`: consistent histories shaped like the services', realistic levels, fresh numbers."""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from civicgrid.analytics import metrics
from civicgrid.analytics.models import CaseFact
from civicgrid.cases import services
from civicgrid.cases.deadlines import resolve_deadline
from civicgrid.cases.models import Assignment, Case, DailyCounter, Evaluation, Event
from civicgrid.cases.services import NewCase
from civicgrid.cases.states import SYSTEM_ACTIONS, TRANSITIONS, Action, Status
from civicgrid.cases.timers import Planned, case_facts, desired_timers, thresholds_for
from civicgrid.ops.demo import SMALL, build_demo
from civicgrid.ops.simulate import Options, Outcome, simulate
from civicgrid.ops.simulate.calendar import Calendar
from civicgrid.org.models import Unit

SEED = 20261126
HISTORY = 4000
# Actions that keep the status whatever it is (their "to" is None in the table), and the two with a
# target of their own.
KEEPING = {a for a, (_starts, to) in TRANSITIONS.items() if to is None}


def _simulate(cases: int, *, seed: int, years: float = 1.0, rollups: bool = False) -> Outcome:
    return simulate(Options(cases=cases, years=years, seed=seed, rollups=rollups), demo_size=SMALL)


@dataclass(frozen=True)
class History:
    outcome: Outcome
    real: frozenset[int]  # the demo's cases, played through the services

    @property
    def first(self) -> date:
        return self.outcome.first

    @property
    def last(self) -> date:
        return self.outcome.last


@pytest.fixture(scope="class")
def history(django_db_setup: None, django_db_blocker: Any) -> Iterator[History]:
    """The small demo district with 30 histories played through the services, then 4,000 simulated;
    shared by the read-only tests below and rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        build_demo(size=SMALL, cases=30, seed=SEED)
        real = frozenset(Case.objects.values_list("pk", flat=True))
        yield History(_simulate(HISTORY, seed=SEED), real)
        transaction.set_rollback(True)


def _simulated(history: History) -> list[Case]:
    return [case for case in Case.objects.order_by("pk") if case.pk not in history.real]


def _timelines(cases: list[Case]) -> dict[int, list[Event]]:
    found: dict[int, list[Event]] = defaultdict(list)
    for event in Event.objects.filter(case_id__in=[c.pk for c in cases]).order_by("case_id", "seq"):
        found[event.case_id].append(event)
    return found


def _allowed(event: Event) -> bool:
    action = Action(event.action)
    if action in SYSTEM_ACTIONS:
        return action == Action.CREATE or (event.from_status == event.to_status) or action == Action.ESCALATE
    starts, target = TRANSITIONS[action]
    if event.from_status not in starts:
        return False
    if action == Action.ACKNOWLEDGE:
        return event.to_status in (Status.IN_PROGRESS, event.from_status)
    if action == Action.EVALUATE:
        return event.to_status in (Status.CLOSED, Status.RESOLVED)
    return event.to_status == (target or event.from_status)


def _clock_shapes(action: str) -> set[tuple[tuple[str, ...], bool]]:
    shapes: dict[str, set[tuple[tuple[str, ...], bool]]]
    """Shapes the clock writes that 30 short demo histories rarely reach (cases/services/clock.py)."""
    shapes = {
        "supervise": {(("auto", "deadline", "level", "rule"), True), ((), True)},
        "escalate": {(("auto", "from", "level", "to"), True), (("from", "to"), True)},
        "warn": {(("assignment", "deadline", "rule"), False)},
    }
    return shapes.get(action, set())


@pytest.mark.django_db
class TestSimulatedHistory:
    """Read-only checks of one simulated year, shared (built once for the class, rolled back after)."""

    def test_it_writes_contiguous_histories_the_transition_table_allows(self, history: History) -> None:
        cases = _simulated(history)
        timelines = _timelines(cases)

        assert len(cases) == HISTORY
        for case in cases:
            events = timelines[case.pk]
            assert [e.seq for e in events] == list(range(1, len(events) + 1)), case.number
            assert (events[0].action, events[0].from_status, events[0].to_status) == (
                "create",
                "",
                "submitted",
            )
            for before, after in itertools.pairwise(events):
                assert after.from_status == before.to_status, (case.number, after.seq)
                assert after.at > before.at, (case.number, after.seq)
            assert all(_allowed(e) for e in events), case.number

    def test_it_leaves_each_case_as_its_last_event_says(self, history: History) -> None:
        cases = _simulated(history)
        timelines = _timelines(cases)

        for case in cases:
            events = timelines[case.pk]
            by_action = {e.action: e for e in events}  # the latest of each
            assert case.status == events[-1].to_status
            assert (case.last_seq, case.version) == (len(events), len(events) - 1)
            assert case.created_at == events[0].at
            assert case.accepted_at == (by_action["accept"].at if "accept" in by_action else None)
            if case.status in (Status.RESOLVED, Status.CLOSED):
                assert case.resolved_at == by_action["resolve"].at, case.number
            if case.status in (Status.CLOSED, Status.REJECTED, Status.MERGED, Status.WITHDRAWN):
                assert case.closed_at == events[-1].at, case.number
            else:
                assert case.closed_at is None

    def test_it_rates_each_resolution_at_most_once_and_only_after_it(self, history: History) -> None:
        cases = {c.pk: c for c in _simulated(history)}
        timelines = _timelines(list(cases.values()))
        ratings = Evaluation.objects.filter(case_id__in=cases).select_related("event")

        assert ratings.count() > HISTORY // 2
        for rating in ratings:
            events = timelines[rating.case_id]
            resolves = [e.seq for e in events if e.action == "resolve" and e.seq < rating.event.seq]
            assert rating.event.action == "evaluate"
            assert resolves and rating.resolution_seq == resolves[-1]
            assert rating.event.data["satisfaction"] == rating.satisfaction
            assert rating.event.data["resolution_seq"] == rating.resolution_seq
            assert rating.at == rating.event.at

    def test_it_writes_events_shaped_like_the_services(self, history: History) -> None:
        """The 30 demo histories went through the real services: same data keys and visibility per action."""
        real = history.real
        shapes: dict[bool, dict[str, set[tuple[tuple[str, ...], bool]]]] = {True: {}, False: {}}
        for event in Event.objects.all():
            keys = tuple(sorted(event.data))
            shapes[event.case_id in real].setdefault(event.action, set()).add((keys, event.public))

        common = set(shapes[True]) & set(shapes[False])
        assert {"create", "accept", "dispatch", "acknowledge", "resolve", "evaluate", "close"} <= common
        for action in common:
            assert shapes[False][action] <= shapes[True][action] | _clock_shapes(action), action

    def test_it_keeps_assignments_in_line_with_the_events(self, history: History) -> None:
        cases = _simulated(history)
        ids = [c.pk for c in cases]
        acks = Event.objects.filter(case_id__in=ids, action="acknowledge").count()
        on_the_spot = Event.objects.filter(case_id__in=ids, action="resolve", data__on_the_spot=True).count()
        acknowledged = Assignment.objects.filter(case_id__in=ids, acknowledged_at__isnull=False).count()
        holding = Case.objects.filter(pk__in=ids, status__in=[Status.DISPATCHED, Status.IN_PROGRESS])

        assert acknowledged == acks + on_the_spot
        for case in holding:
            leads = case.assignments.filter(active=True, role="lead")
            assert leads.count() == 1 and leads[0].unit_id == case.owner_id, case.number

    def test_it_mixes_channels_and_reaches_the_seeds_levels(self, history: History) -> None:
        cases = _simulated(history)
        channels = Counter(c.channel for c in cases)
        # A past stretch every due case had time to finish in (the last weeks are still open).
        start = timezone.make_aware(datetime.combine(history.first + timedelta(days=30), datetime.min.time()))
        end = timezone.make_aware(datetime.combine(history.last - timedelta(days=60), datetime.min.time()))

        def rate(figure: metrics.Ratio) -> float:
            assert figure.rate is not None
            return float(figure.rate)

        assert 0.86 <= channels["hotline"] / len(cases) <= 0.94
        assert len(channels) >= 5
        assert 0.93 <= rate(metrics.closure_rate(start=start, end=end)) <= 0.995
        assert 0.85 <= rate(metrics.on_time_rate(start=start, end=end)) <= 0.95
        assert 0.92 <= rate(metrics.satisfaction(start=start, end=end)) <= 0.98
        assert 0.62 <= rate(metrics.participation(start=start, end=end)) <= 0.78
        assert 0 < rate(metrics.return_rate(start=start, end=end)) <= 0.08
        assert 0 < rate(metrics.reopen_rate(start=start, end=end)) <= 0.06

    def test_it_leaves_recent_cases_open_in_various_statuses_with_their_timers(
        self, history: History
    ) -> None:
        cases = _simulated(history)
        open_cases = [
            c
            for c in cases
            if c.status in (Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RESOLVED)
        ]

        assert len({c.status for c in open_cases}) >= 3
        for case in open_cases:
            # The clock's planner (cases.timers) finds nothing to add: every timer it wants is stored,
            # and the only stored ones it does not want have fired (as after replan_timers).
            facts, level = case_facts(case=case)
            wanted = desired_timers(facts, thresholds_for(level))
            stored = {Planned(t.rule, t.due_at, t.assignment_id): t.fired_at for t in case.timers.all()}
            assert wanted <= set(stored), case.number
            assert all(fired is not None for key, fired in stored.items() if key not in wanted), case.number
        assert Event.objects.filter(action="escalate", data__auto=True).exists()
        assert Event.objects.filter(action="approve_extension").exists()
        assert Event.objects.filter(action="reopen").exists()
        assert Event.objects.filter(action="return").exists()

    def test_it_sets_deadlines_on_the_working_day_calendar(self, history: History) -> None:
        accepted = [c for c in _simulated(history) if c.accepted_at is not None and c.item_id is not None]
        plain = [
            c for c in accepted if not c.events.filter(action__in=["approve_extension", "reopen"]).exists()
        ][:300]

        assert plain
        for case in plain:
            assert case.item is not None and case.accepted_at is not None
            assert case.resolve_by == resolve_deadline(case.accepted_at, case.item.resolve_days), case.number


@pytest.mark.django_db
def test_it_computes_deadlines_as_the_project_calendar_does() -> None:
    zone = timezone.get_default_timezone()
    calendar = Calendar(first=date(2023, 1, 1), last=date(2025, 12, 31), zone=zone)
    rng = random.Random(SEED)

    for _ in range(300):
        moment = datetime(2023, 1, 1, tzinfo=zone) + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        days = rng.choice([1, 2, 3, 5, 7, 10, 15, 30])
        expected = resolve_deadline(moment, days)
        assert calendar.resolve_deadline(int(moment.timestamp()), days) == int(expected.timestamp())


@pytest.mark.django_db
def test_it_adds_a_second_run_without_colliding_numbers() -> None:
    _simulate(600, seed=1)
    _simulate(600, seed=2)
    numbers = list(Case.objects.values_list("number", flat=True))
    highest: dict[str, int] = {}
    for number in numbers:
        day, value = number.split("-")
        highest[day] = max(highest.get(day, 0), int(value))
    counters = {c.day.strftime("%Y%m%d"): c.value for c in DailyCounter.objects.all()}

    assert len(numbers) == len(set(numbers)) == 1200
    assert Case.objects.values("tracking_code").distinct().count() == 1200
    assert counters == highest


@pytest.mark.django_db
def test_it_gives_a_case_filed_afterwards_the_next_number() -> None:
    zone = timezone.get_default_timezone()
    with time_machine.travel(datetime(2026, 6, 10, 16, 30, tzinfo=zone), tick=False):
        _simulate(800, seed=3, years=0.05)
        filed_today = Case.objects.filter(number__startswith="20260610-").count()
        grid = Unit.objects.filter(kind=Unit.Kind.GRID).first()

        case = services.case_create(
            actor=None, new=NewCase(kind="complaint", description="楼道灯坏了", place=grid, channel="qr")
        )

    assert filed_today > 10
    assert case.number == f"20260610-{filed_today + 1:06d}"


@pytest.mark.django_db
def test_it_loads_the_demo_district_when_there_is_none_and_folds_the_rollups() -> None:
    assert not Unit.objects.exists()

    outcome = _simulate(200, seed=4, years=0.2, rollups=True)

    assert Unit.objects.filter(code="DEMO").exists()
    assert Case.objects.count() == outcome.cases == 200
    assert CaseFact.objects.count() == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"cases": 0, "years": 1}, "--cases 须在"),
        ({"cases": 10, "years": 0}, "--years 须大于 0"),
        ({"cases": 10, "years": 1, "end": date.today() + timedelta(days=3)}, "--end 不能晚于今天"),
        ({"cases": 10, "years": 1, "district": "NOWHERE"}, "没有编码为 NOWHERE 的区县"),
    ],
)
def test_it_refuses_bad_arguments_clearly_and_writes_nothing(
    arguments: dict[str, object], message: str
) -> None:
    build_demo(size=SMALL, cases=0, seed=SEED)

    with pytest.raises(CommandError, match=message):
        call_command("simulate", **arguments)

    assert not Case.objects.exists()
    assert not DailyCounter.objects.exists()
