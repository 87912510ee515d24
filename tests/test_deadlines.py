"""Deadlines on the Chinese working-day calendar, with 调休 make-up days and admin overrides."""

from __future__ import annotations

from datetime import date

import time_machine

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.deadlines import is_workday, resolve_deadline, response_deadline, working_day_after
from civicgrid.cases.models import CalendarOverride
from civicgrid.cases.selectors import case_is_overdue
from tests.conftest import CaseMaker, Town, at


def test_it_knows_the_national_day_holiday_and_its_make_up_saturday() -> None:
    assert not is_workday(date(2026, 10, 1))
    assert not is_workday(date(2026, 10, 7))
    assert is_workday(date(2026, 10, 10))  # Saturday, worked in lieu (调休)
    assert not is_workday(date(2026, 10, 11))


def test_it_skips_the_golden_week_when_counting_working_days(db: None) -> None:
    # 30 Sep is a Wednesday; 1–7 Oct are holidays; 8, 9 and Saturday 10 Oct are working days.
    assert working_day_after(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert working_day_after(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert working_day_after(date(2026, 9, 30), 4) == date(2026, 10, 12)


def test_it_ends_a_resolution_deadline_at_midnight_after_the_last_working_day(db: None) -> None:
    deadline = resolve_deadline(at("2026-09-30 15:00"), 3)

    assert deadline == at("2026-10-11 00:00")


def test_it_counts_response_deadlines_in_clock_hours_even_over_a_holiday() -> None:
    assert response_deadline(at("2026-09-30 23:30"), 2) == at("2026-10-01 01:30")


def test_it_lets_an_admin_override_the_official_calendar(db: None) -> None:
    CalendarOverride.objects.create(day=date(2026, 10, 8), is_workday=False, note="台风停工")

    assert working_day_after(date(2026, 9, 30), 1) == date(2026, 10, 9)


def test_it_falls_back_to_weekdays_for_years_the_calendar_does_not_know_yet() -> None:
    assert is_workday(date(2031, 3, 3))  # a Monday
    assert not is_workday(date(2031, 3, 2))  # a Sunday


def test_it_gives_an_accepted_case_its_deadlines_from_the_item(
    new_case: CaseMaker, centre: User, town: Town
) -> None:
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)

    # 占道经营: 24 h to respond, 7 working days to resolve; the golden week does not count:
    # 8, 9, 10 (make-up Saturday), 12, 13, 14, 15 October.
    assert case.respond_by == at("2026-10-01 10:00")
    assert case.resolve_by == at("2026-10-16 00:00")


def test_it_derives_overdue_from_the_deadline_and_the_clock(new_case: CaseMaker, centre: User) -> None:
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)

    with time_machine.travel(at("2026-10-15 23:59"), tick=False):
        assert not case_is_overdue(case=case)
    with time_machine.travel(at("2026-10-16 00:01"), tick=False):
        assert case_is_overdue(case=case)


def test_it_moves_the_deadline_by_approved_working_days_over_a_holiday(
    new_case: CaseMaker, centre: User, chen: User, supervisor: User, town: Town
) -> None:
    with time_machine.travel(at("2026-09-21 09:00"), tick=False):
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        services.case_acknowledge(case=case, actor=chen)
    # 7 working days: 22, 23, 24 Sep (25th is Mid-Autumn), 28, 29, 30 Sep, 8 Oct.
    assert case.resolve_by == at("2026-10-09 00:00")

    with time_machine.travel(at("2026-09-29 09:00"), tick=False):
        services.case_request_extension(case=case, actor=chen, days=2, reason="需协调物业")
        services.case_approve_extension(case=case, actor=supervisor)

    # Two more working days after 8 Oct: the 9th and Saturday the 10th, worked in lieu (调休).
    assert case.resolve_by == at("2026-10-11 00:00")
    lead = case.assignments.get(role="lead")
    assert lead.resolve_by == case.resolve_by
    approval = case.events.get(action="approve_extension")
    assert approval.data["days"] == 2
