"""The clock's plan: which timers a case gets from its deadlines, and how actions keep them in line."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.jobs import due_timers
from civicgrid.cases.models import Case, Timer
from civicgrid.cases.timers import (
    AssignmentFacts,
    CaseFacts,
    Planned,
    desired_timers,
    replan_open_cases,
    replan_timers,
    thresholds_for,
)
from tests.conftest import CaseMaker, Town, at

Rule = Timer.Rule


def no_working_days(deadline: datetime, days: int) -> datetime:
    """A stand-in calendar for the pure tests: every day a working day, deadlines at midnight."""
    return deadline + timedelta(days=days)


def plan(facts: CaseFacts, level: int | None = 3) -> set[Planned]:
    return desired_timers(facts, thresholds_for(level), working_days_after=no_working_days)


def pending(pk: int = 1, *, dispatched: str = "2026-11-02 09:00", status: str = "pending") -> AssignmentFacts:
    return AssignmentFacts(
        id=pk,
        status=status,
        dispatched_at=at(dispatched),
        respond_by=at(dispatched) + timedelta(hours=24),
        resolve_by=at("2026-11-12 00:00"),
    )


def dispatched(*assignments: AssignmentFacts, status: str = "dispatched") -> CaseFacts:
    return CaseFacts(
        status=status,
        accepted_at=at("2026-11-02 09:00"),
        resolve_by=at("2026-11-12 00:00"),
        assignments=assignments,
    )


def stored(case: Case) -> set[tuple[str, datetime, bool]]:
    """The case's timers as (rule, due moment, fired?)."""
    return {(t.rule, t.due_at, t.fired_at is not None) for t in Timer.objects.filter(case=case)}


def test_it_plans_the_response_and_resolution_timers_of_a_pending_assignment() -> None:
    timers = plan(dispatched(pending()))

    assert timers == {
        Planned(Rule.RESPONSE_WARNING, at("2026-11-03 03:00"), 1),  # 75 % of 24 h
        Planned(Rule.RESPONSE_OVERDUE, at("2026-11-03 09:00"), 1),
        Planned(Rule.NOT_REPORTED, at("2026-11-03 13:00"), 1),  # 4 h of grace
        # 75 % of 2 Nov 09:00 → 12 Nov 00:00 (231 h) is 173 h 15 min.
        Planned(Rule.RESOLUTION_WARNING, at("2026-11-09 14:15"), 1),
        Planned(Rule.OVERDUE, at("2026-11-12 00:00")),
        Planned(Rule.ESCALATION, at("2026-11-13 00:00")),
    }


def test_it_stops_the_response_clock_once_the_unit_reported_in() -> None:
    timers = plan(dispatched(pending(status="acknowledged"), status="in_progress"))

    assert {t.rule for t in timers} == {Rule.RESOLUTION_WARNING, Rule.OVERDUE, Rule.ESCALATION}


def test_it_does_not_warn_a_unit_given_the_case_after_the_warning_point() -> None:
    late = pending(2, dispatched="2026-11-10 09:00")

    timers = plan(dispatched(late))

    assert Rule.RESOLUTION_WARNING not in {t.rule for t in timers}
    assert Planned(Rule.RESPONSE_WARNING, at("2026-11-11 03:00"), 2) in timers


def test_it_plans_only_the_overdue_supervision_before_dispatch() -> None:
    facts = CaseFacts(
        status="accepted", accepted_at=at("2026-11-02 09:00"), resolve_by=at("2026-11-12 00:00")
    )

    assert plan(facts) == {Planned(Rule.OVERDUE, at("2026-11-12 00:00"))}


@pytest.mark.parametrize("status", ["submitted", "closed", "rejected", "merged", "withdrawn"])
def test_it_plans_nothing_for_a_case_not_yet_taken_on_or_ended(status: str) -> None:
    assert plan(dispatched(pending(), status=status)) == set()


def test_it_reminds_the_approver_of_a_waiting_extension_request() -> None:
    facts = CaseFacts(
        status="in_progress", resolve_by=at("2026-11-12 00:00"), extension_requested_at=at("2026-11-05 10:00")
    )

    assert Planned(Rule.EXTENSION_REMINDER, at("2026-11-06 10:00")) in plan(facts)


def test_it_asks_for_a_rating_at_once_and_a_callback_after_three_days() -> None:
    facts = CaseFacts(status="resolved", resolved_at=at("2026-11-05 10:00"))

    assert plan(facts) == {
        Planned(Rule.RATING_REQUEST, at("2026-11-05 10:00")),
        Planned(Rule.CALLBACK, at("2026-11-08 10:00")),
    }
    assert plan(CaseFacts(status="resolved", resolved_at=at("2026-11-05 10:00"), rated=True)) == set()


def test_it_escalates_level_one_items_after_hours_and_warns_them_at_half_time() -> None:
    timers = plan(dispatched(pending()), level=1)

    assert Planned(Rule.ESCALATION, at("2026-11-12 04:00")) in timers
    assert Planned(Rule.RESPONSE_WARNING, at("2026-11-02 21:00"), 1) in timers


def test_it_reads_the_thresholds_and_their_level_overrides_from_settings(settings: Settings) -> None:
    settings.CLOCK = {**settings.CLOCK, "warn_share": 0.9, "callback_after_days": 1}
    settings.CLOCK_BY_LEVEL = {"2": {"callback_after_days": 7}}

    assert thresholds_for(3).warn_share == 0.9
    assert thresholds_for(3).callback_after == timedelta(days=1)
    assert thresholds_for(2).callback_after == timedelta(days=7)
    assert thresholds_for(None).callback_after == timedelta(days=1)


def test_it_stores_the_plan_of_a_dispatched_case(new_case: CaseMaker, centre: User, town: Town) -> None:
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        assert not Timer.objects.filter(case=case).exists()  # intake stays cheap
        services.case_accept(case=case, actor=centre)
        assert stored(case) == {(Rule.OVERDUE, at("2026-11-12 00:00"), False)}
        services.case_dispatch(case=case, actor=centre, lead=town.urban)

    assignment = case.assignments.get()
    assert Timer.objects.filter(case=case).count() == 6
    assert set(Timer.objects.filter(assignment=assignment).values_list("rule", flat=True)) == {
        Rule.RESPONSE_WARNING,
        Rule.RESPONSE_OVERDUE,
        Rule.NOT_REPORTED,
        Rule.RESOLUTION_WARNING,
    }
    # 12 Nov is a Thursday: one working day later is the end of Friday 13 Nov.
    assert (Rule.ESCALATION, at("2026-11-13 00:00"), False) in stored(case)


def test_it_drops_the_response_timers_when_the_unit_reports_in(
    new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        services.case_acknowledge(case=case, actor=chen)

    assert {rule for rule, _due, _fired in stored(case)} == {
        Rule.RESOLUTION_WARNING,
        Rule.OVERDUE,
        Rule.ESCALATION,
    }


def test_it_lands_the_overdue_and_escalation_moments_after_the_golden_week(
    new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    # Sunday 20 Sep 2026 is a make-up working day (调休); 25–27 Sep (Mid-Autumn) and 1–7 Oct are off.
    with time_machine.travel(at("2026-09-20 10:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        services.case_acknowledge(case=case, actor=chen)

    # 7 working days: 21, 22, 23, 24, 28, 29, 30 Sep → due at midnight ending 30 Sep.
    assert (Rule.OVERDUE, at("2026-10-01 00:00"), False) in stored(case)
    # One more working day: the holiday does not count, 8 Oct does → escalation at midnight ending it.
    assert (Rule.ESCALATION, at("2026-10-09 00:00"), False) in stored(case)


def test_it_moves_the_overdue_timer_when_an_extension_is_approved(
    new_case: CaseMaker, centre: User, chen: User, supervisor: User, town: Town
) -> None:
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        services.case_acknowledge(case=case, actor=chen)
    with time_machine.travel(at("2026-11-09 10:00"), tick=False):
        services.case_request_extension(case=case, actor=chen, days=3, reason="需协调物业")
        assert (Rule.EXTENSION_REMINDER, at("2026-11-10 10:00"), False) in stored(case)
        services.case_approve_extension(case=case, actor=supervisor)

    rules = {(rule, due) for rule, due, _fired in stored(case)}
    assert (Rule.OVERDUE, at("2026-11-12 00:00")) not in rules
    assert (Rule.ESCALATION, at("2026-11-13 00:00")) not in rules
    assert (Rule.EXTENSION_REMINDER, at("2026-11-10 10:00")) not in rules
    # Three more working days: 12, 13 and 16 Nov.
    assert (Rule.OVERDUE, at("2026-11-17 00:00")) in rules
    assert (Rule.ESCALATION, at("2026-11-18 00:00")) in rules


def test_it_keeps_fired_timers_and_never_plans_the_same_one_twice(
    new_case: CaseMaker, centre: User, town: Town
) -> None:
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        Timer.objects.filter(case=case, rule=Rule.OVERDUE).update(fired_at=at("2026-11-02 09:00"))
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        replan_timers(case=case)

    assert Timer.objects.filter(case=case, rule=Rule.OVERDUE).count() == 1
    assert Timer.objects.filter(case=case).count() == 6


def test_it_drops_unfired_timers_but_keeps_fired_ones_when_a_case_ends(
    new_case: CaseMaker, centre: User, town: Town
) -> None:
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        Timer.objects.filter(case=case, rule=Rule.RESPONSE_WARNING).update(fired_at=at("2026-11-02 09:00"))
        services.case_withdraw(case=case, actor=centre, reason="群众撤回")

    assert stored(case) == {(Rule.RESPONSE_WARNING, at("2026-11-03 03:00"), True)}


def test_it_plans_a_rating_request_and_callback_on_resolution_and_drops_them_on_rating(
    case_in: object, integrator: User
) -> None:
    with time_machine.travel(at("2026-11-05 10:00"), tick=False):
        case = case_in("resolved")  # type: ignore[operator]
        assert {(rule, due) for rule, due, _f in stored(case)} == {
            (Rule.RATING_REQUEST, at("2026-11-05 10:00")),
            (Rule.CALLBACK, at("2026-11-08 10:00")),
        }
        services.case_evaluate(case=case, actor=integrator, solved=True, satisfaction="satisfied")

    assert stored(case) == set()


def test_it_replans_a_case_in_a_handful_of_queries(new_case: CaseMaker, centre: User, town: Town) -> None:
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        case = Case.objects.get(pk=case.pk)

        with CaptureQueriesContext(connection) as unchanged:
            replan_timers(case=case)

    # Level and extension request, assignments, the calendar overrides, the stored timers.
    assert len(unchanged) <= 4, [q["sql"][:80] for q in unchanged]


def test_it_serves_the_sweep_from_the_partial_index(db: None) -> None:
    query = due_timers(now=at("2026-11-02 09:00"), limit=100)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = query.explain()
    else:
        plan = query.explain()

    assert "timer_pending_idx" in plan


def test_it_plans_cases_that_predate_the_clock(new_case: CaseMaker, centre: User, town: Town) -> None:
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        new_case()  # submitted: nothing to plan
    Timer.objects.all().delete()

    assert replan_open_cases() == 1
    assert Timer.objects.filter(case=case).count() == 6
