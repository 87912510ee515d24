"""The clock at work: each rule fires once at its moment, by the system, and only while it still applies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from civicgrid.accounts.models import User
from civicgrid.cases import jobs, services
from civicgrid.cases.errors import CaseChangedMeanwhile
from civicgrid.cases.jobs import fire_due_timers
from civicgrid.cases.models import Assignment, Case, Event, Timer
from civicgrid.cases.services.clock import timer_fire
from tests.conftest import CaseMaker, Town, at

Rule = Timer.Rule
Drive = Callable[[str], Case]


def sweep(moment: str) -> list[Event]:
    """Run the clock at `moment` until nothing is due; the events it recorded, in order."""
    last = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with time_machine.travel(at(moment), tick=False):
        while fire_due_timers():
            pass
    return list(Event.objects.filter(pk__gt=last).order_by("pk"))


def actions(events: list[Event]) -> list[str]:
    return [e.action for e in events]


@pytest.fixture
def dispatched(new_case: CaseMaker, centre: User, town: Town) -> Case:
    """占道经营 (24 h to respond, 7 working days), accepted and given to 城管局 on Monday 2 Nov 2026 09:00.

    Response: warning 3 Nov 03:00, overdue 09:00, 未报到 13:00. Resolution deadline 12 Nov 00:00
    (warning 9 Nov 14:15), escalation one working day later, 13 Nov 00:00.
    """
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
    return case


@pytest.fixture
def working(dispatched: Case, chen: User) -> Case:
    """The same case, acknowledged by 城管局 an hour after dispatch."""
    with time_machine.travel(at("2026-11-02 10:00"), tick=False):
        services.case_acknowledge(case=dispatched, actor=chen)
    return dispatched


def test_it_warns_the_unit_once_when_three_quarters_of_the_response_time_passed(
    dispatched: Case, town: Town
) -> None:
    assert sweep("2026-11-03 02:59") == []

    [warning] = sweep("2026-11-03 03:00")

    assert (warning.action, warning.actor, warning.unit, warning.public) == ("warn", None, town.urban, False)
    assignment = dispatched.assignments.get()
    assert warning.data == {
        "rule": "response",
        "assignment": assignment.pk,
        "deadline": at("2026-11-03 09:00").isoformat(),
    }
    assert sweep("2026-11-03 03:30") == []


def test_it_does_not_warn_a_unit_that_reported_in(working: Case) -> None:
    assert sweep("2026-11-03 13:00") == []


def test_it_does_nothing_when_the_unit_reported_in_after_the_timer_was_planned(dispatched: Case) -> None:
    # As if the unit's acknowledgement raced the sweep: the timer is still there, its reason is not.
    Assignment.objects.filter(case=dispatched).update(status="acknowledged")

    assert sweep("2026-11-03 03:00") == []
    assert Timer.objects.get(case=dispatched, rule=Rule.RESPONSE_WARNING).fired_at == at("2026-11-03 03:00")


def test_it_tells_the_unit_and_dispatchers_when_the_response_deadline_passes(
    dispatched: Case, town: Town
) -> None:
    sweep("2026-11-03 08:59")

    [overdue] = sweep("2026-11-03 09:00")

    assert (overdue.action, overdue.actor, overdue.unit, overdue.public) == (
        "response_overdue",
        None,
        town.urban,
        False,
    )
    assert overdue.data["deadline"] == at("2026-11-03 09:00").isoformat()
    assert sweep("2026-11-03 12:59") == []


def test_it_marks_a_silent_unit_as_not_reported_after_the_grace(dispatched: Case) -> None:
    sweep("2026-11-03 12:59")
    assignment = dispatched.assignments.get()
    assert assignment.unreported_at is None

    [silent] = sweep("2026-11-03 13:00")

    assert (silent.action, silent.actor, silent.data) == ("not_reported", None, {"assignment": assignment.pk})
    assignment.refresh_from_db()
    assert assignment.unreported_at == at("2026-11-03 13:00")
    assert sweep("2026-11-04 13:00") == []


def test_it_warns_the_unit_when_three_quarters_of_the_resolution_time_passed(
    working: Case, town: Town
) -> None:
    assert sweep("2026-11-09 14:14") == []

    [warning] = sweep("2026-11-09 14:15")

    assert (warning.action, warning.actor, warning.unit) == ("warn", None, town.urban)
    assert warning.data["rule"] == "resolution"
    assert warning.data["deadline"] == at("2026-11-12 00:00").isoformat()


def test_it_opens_a_yellow_supervision_when_the_case_is_overdue(working: Case, town: Town) -> None:
    sweep("2026-11-11 23:59")

    [supervision] = sweep("2026-11-12 00:00")

    assert (supervision.action, supervision.actor, supervision.unit, supervision.public) == (
        "supervise",
        None,
        town.urban,
        True,
    )
    assert supervision.data == {
        "auto": True,
        "level": "yellow",
        "rule": "overdue",
        "deadline": at("2026-11-12 00:00").isoformat(),
    }
    case = Case.objects.get(pk=working.pk)
    assert (case.supervision, case.supervised_at) == ("yellow", at("2026-11-12 00:00"))
    assert sweep("2026-11-12 12:00") == []


def test_it_escalates_to_the_parent_area_a_working_day_after_the_deadline(working: Case, town: Town) -> None:
    sweep("2026-11-12 23:59")

    [escalation] = sweep("2026-11-13 00:00")

    assert (escalation.action, escalation.actor, escalation.unit, escalation.public) == (
        "escalate",
        None,
        town.district,
        True,
    )
    assert escalation.data == {"auto": True, "level": "red", "from": "D-CG", "to": "XC"}
    case = Case.objects.get(pk=working.pk)
    assert (case.status, case.owner, case.supervision) == ("dispatched", town.district, "red")
    new_lead = case.assignments.get(active=True)
    assert (new_lead.unit, new_lead.status) == (town.district, "pending")
    assert "escalate" not in actions(sweep("2026-11-16 00:00"))


def test_it_does_not_escalate_when_no_area_is_above_the_lead(
    new_case: CaseMaker, centre: User, town: Town
) -> None:
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.district)

    assert "escalate" not in actions(sweep("2026-11-13 00:00"))
    assert Timer.objects.get(case=case, rule=Rule.ESCALATION).fired_at is not None


def test_it_escalates_a_level_one_item_four_hours_after_its_deadline(
    new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    # 燃气泄漏: one hour to respond, one working day to resolve → due at midnight ending Tuesday.
    with time_machine.travel(at("2026-11-02 10:00"), tick=False):
        case = new_case(item=town.urgent_item)
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        services.case_acknowledge(case=case, actor=chen)

    assert actions(sweep("2026-11-04 03:59")) == ["warn", "supervise"]
    assert actions(sweep("2026-11-04 04:00")) == ["escalate"]


def test_it_escalates_only_after_the_holiday_and_its_make_up_days(
    new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    # Accepted on Sunday 20 Sep 2026, a make-up working day: due at midnight ending 30 Sep.
    with time_machine.travel(at("2026-09-20 10:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        services.case_acknowledge(case=case, actor=chen)

    assert actions(sweep("2026-09-30 23:59")) == ["warn"]
    assert actions(sweep("2026-10-01 00:00")) == ["supervise"]
    # The golden week (1–7 Oct) is no working day: the one working day of grace is 8 October.
    assert sweep("2026-10-08 23:59") == []
    assert actions(sweep("2026-10-09 00:00")) == ["escalate"]


def test_it_does_not_supervise_a_case_whose_deadline_an_extension_moved(
    working: Case, chen: User, supervisor: User
) -> None:
    with time_machine.travel(at("2026-11-10 10:00"), tick=False):
        services.case_request_extension(case=working, actor=chen, days=3, reason="需协调物业")
        services.case_approve_extension(case=working, actor=supervisor)

    assert "supervise" not in actions(sweep("2026-11-16 23:59"))
    assert actions(sweep("2026-11-17 00:00")) == ["supervise"]


def test_it_reminds_the_approver_of_an_extension_request_left_waiting(working: Case, chen: User) -> None:
    with time_machine.travel(at("2026-11-03 10:00"), tick=False):
        services.case_request_extension(case=working, actor=chen, days=2, reason="需协调物业")
    request = working.extension_requests.get()

    assert sweep("2026-11-04 09:59") == []
    [reminder] = sweep("2026-11-04 10:00")

    assert (reminder.action, reminder.actor, reminder.public) == ("remind", None, False)
    assert reminder.data == {"rule": "extension", "request": request.pk, "days": 2}
    assert sweep("2026-11-05 10:00") == []


def test_it_does_not_remind_about_a_request_already_decided(
    working: Case, chen: User, supervisor: User
) -> None:
    with time_machine.travel(at("2026-11-03 10:00"), tick=False):
        services.case_request_extension(case=working, actor=chen, days=2, reason="需协调物业")
    with time_machine.travel(at("2026-11-03 11:00"), tick=False):
        services.case_deny_extension(case=working, actor=supervisor, reason="可按期办结")

    assert "remind" not in actions(sweep("2026-11-04 10:00"))


def test_it_asks_the_reporter_to_rate_as_soon_as_the_case_is_resolved(working: Case, chen: User) -> None:
    with time_machine.travel(at("2026-11-05 10:00"), tick=False):
        services.case_resolve(case=working, actor=chen, result="已劝离摊贩")
    resolution = working.events.get(action="resolve")

    [request] = sweep("2026-11-05 10:00")

    assert (request.action, request.actor, request.unit, request.public) == (
        "rating_request",
        None,
        None,
        True,
    )
    assert request.data == {"resolution_seq": resolution.seq}
    assert sweep("2026-11-06 10:00") == []


def test_it_puts_an_unrated_case_into_the_callback_queue_after_three_days(working: Case, chen: User) -> None:
    with time_machine.travel(at("2026-11-05 10:00"), tick=False):
        services.case_resolve(case=working, actor=chen, result="已劝离摊贩")
    assert actions(sweep("2026-11-08 09:59")) == ["rating_request"]

    [callback] = sweep("2026-11-08 10:00")

    assert (callback.action, callback.actor, callback.public) == ("callback_due", None, False)
    case = Case.objects.get(pk=working.pk)
    assert case.callback_requested_at == at("2026-11-08 10:00")
    assert sweep("2026-11-09 10:00") == []
    with time_machine.travel(at("2026-11-09 11:00"), tick=False):
        services.case_evaluate(
            case=case, actor=None, solved=True, satisfaction="basically", channel="callback"
        )
    assert Case.objects.get(pk=case.pk).callback_requested_at is None


def test_it_leaves_a_rated_case_out_of_the_callback_queue(
    working: Case, chen: User, integrator: User
) -> None:
    with time_machine.travel(at("2026-11-05 10:00"), tick=False):
        services.case_resolve(case=working, actor=chen, result="已劝离摊贩")
    with time_machine.travel(at("2026-11-06 10:00"), tick=False):
        services.case_evaluate(case=working, actor=integrator, solved=False, satisfaction="dissatisfied")

    assert "callback_due" not in actions(sweep("2026-11-09 10:00"))
    case = Case.objects.get(pk=working.pk)
    assert (case.status, case.review_requested_at) == ("resolved", at("2026-11-06 10:00"))


def test_it_does_not_call_back_when_the_rating_came_after_the_timer_was_planned(
    working: Case, chen: User, integrator: User
) -> None:
    with time_machine.travel(at("2026-11-05 10:00"), tick=False):
        services.case_resolve(case=working, actor=chen, result="已劝离摊贩")
        services.case_evaluate(case=working, actor=integrator, solved=False, satisfaction="dissatisfied")
    # As if the rating had raced the plan: the timer exists, its reason does not.
    Timer.objects.create(case=working, rule=Rule.CALLBACK, due_at=at("2026-11-08 10:00"))

    assert "callback_due" not in actions(sweep("2026-11-08 10:00"))


def test_it_clears_the_review_and_callback_flags_on_reopen(
    working: Case, chen: User, integrator: User, supervisor: User
) -> None:
    with time_machine.travel(at("2026-11-05 10:00"), tick=False):
        services.case_resolve(case=working, actor=chen, result="已劝离摊贩")
        services.case_evaluate(case=working, actor=integrator, solved=False, satisfaction="dissatisfied")
        services.case_reopen(case=working, actor=supervisor, reason="群众不满意，重办")

    case = Case.objects.get(pk=working.pk)
    assert (case.status, case.review_requested_at, case.callback_requested_at) == ("in_progress", None, None)
    assert Timer.objects.filter(case=case, rule=Rule.OVERDUE, fired_at__isnull=True).exists()


def test_it_keeps_a_red_supervision_red_when_someone_supervises_by_hand(
    working: Case, supervisor: User
) -> None:
    with time_machine.travel(at("2026-11-03 10:00"), tick=False):
        services.case_supervise(case=working, actor=supervisor, note="请加快办理")
    assert Case.objects.get(pk=working.pk).supervision == "yellow"
    sweep("2026-11-13 00:00")  # overdue, then escalated: red
    case = Case.objects.get(pk=working.pk)

    with time_machine.travel(at("2026-11-13 10:00"), tick=False):
        services.case_supervise(case=case, actor=supervisor, note="再次督办")

    assert Case.objects.get(pk=working.pk).supervision == "red"


def test_it_records_the_whole_life_of_a_neglected_case_by_the_system_with_contiguous_numbers(
    dispatched: Case,
) -> None:
    events = sweep("2026-11-13 00:00") + sweep("2026-11-20 00:00")

    assert actions(events) == [
        "warn",
        "response_overdue",
        "not_reported",
        "warn",
        "supervise",
        "escalate",
        # The district, now leading, is silent too.
        "warn",
        "response_overdue",
        "not_reported",
    ]
    assert {e.actor for e in events} == {None}
    seqs = list(dispatched.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert Case.objects.get(pk=dispatched.pk).last_seq == len(seqs)


def test_it_retries_a_timer_whose_case_changed_meanwhile(
    dispatched: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = timer_fire
    calls: list[int] = []

    def lose_the_first_race(*, timer: Timer, **read: Any) -> Event | None:
        calls.append(timer.pk)
        if len(calls) == 1:
            raise CaseChangedMeanwhile(dispatched.number)
        return real(timer=timer, **read)

    monkeypatch.setattr(jobs, "timer_fire", lose_the_first_race)

    assert actions(sweep("2026-11-03 03:00")) == ["warn"]
    assert len(calls) == 2


def test_it_keeps_the_clock_going_past_a_timer_that_fails(
    dispatched: Case, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = timer_fire

    def broken_warning(*, timer: Timer, **read: Any) -> Event | None:
        if timer.rule == Rule.RESPONSE_WARNING:
            raise ValueError("broken")
        return real(timer=timer, **read)

    monkeypatch.setattr(jobs, "timer_fire", broken_warning)

    with caplog.at_level(logging.ERROR, logger="civicgrid.cases.jobs"):
        assert actions(sweep("2026-11-03 09:00")) == ["response_overdue"]

    assert "response_warning" in caplog.text
    assert not Timer.objects.filter(
        case=dispatched, due_at__lte=at("2026-11-03 09:00"), fired_at=None
    ).exists()


def test_it_logs_one_line_per_action(dispatched: Case, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="civicgrid.cases.jobs"):
        sweep("2026-11-03 13:00")

    lines = [r.getMessage() for r in caplog.records if r.name == "civicgrid.cases.jobs"]
    assert len(lines) == 3
    assert all(dispatched.number in line for line in lines)


def test_it_reports_whether_it_found_work(dispatched: Case) -> None:
    with time_machine.travel(at("2026-11-02 12:00"), tick=False):
        assert fire_due_timers() is False
    with time_machine.travel(at("2026-11-03 03:00"), tick=False):
        assert fire_due_timers() is True
        assert fire_due_timers() is False
