"""The rollups follow the event log: changed cases are marked in their own transaction, the worker's
job folds them in, and `civicgrid rollup rebuild` recomputes them without changing a figure."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from datetime import date
from io import StringIO
from typing import TypedDict

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from civicgrid.accounts.models import User
from civicgrid.analytics import figures, rollups
from civicgrid.analytics.jobs import refresh_rollups
from civicgrid.analytics.metrics import Ratio
from civicgrid.analytics.models import (
    CaseFact,
    DailyFigure,
    MonthlyDueFigure,
    MonthlyFigure,
    PlaceDailyFigure,
    PlaceMonthlyDueFigure,
    PlaceMonthlyFigure,
    StaleCase,
)
from civicgrid.cases import services
from civicgrid.cases.models import Case
from civicgrid.cases.services import exclusions
from civicgrid.jobs import registered_jobs
from tests.conftest import CaseMaker, Town, at


class Period(TypedDict):
    start: date
    end: date


OCTOBER = Period(start=date(2026, 10, 1), end=date(2026, 11, 1))


@pytest.fixture
def clock() -> Iterator[Callable[[str], None]]:
    traveller = time_machine.travel(at("2026-10-12 09:00"), tick=False)
    shift = traveller.start()
    yield lambda text: shift.move_to(at(text))
    traveller.stop()


@pytest.fixture
def handled(
    new_case: CaseMaker, centre: User, chen: User, town: Town, clock: Callable[[str], None]
) -> Callable[[], Case]:
    def make() -> Case:
        case = new_case()
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        return services.case_acknowledge(case=case, actor=chen)

    return make


def fold() -> None:
    while refresh_rollups():
        pass


def test_it_marks_a_case_only_when_an_event_can_change_a_figure(new_case: CaseMaker, centre: User) -> None:
    case = new_case()
    assert StaleCase.objects.count() == 0  # a new, unaccepted case counts nowhere yet

    services.case_note(case=case, actor=centre, text="已联系诉求人")
    assert StaleCase.objects.count() == 0

    services.case_accept(case=case, actor=centre)
    assert list(StaleCase.objects.values_list("case_id", flat=True)) == [case.pk]


def test_it_shows_a_change_once_the_worker_has_folded_it(handled: Callable[[], Case], chen: User) -> None:
    case = handled()
    assert figures.figures(**OCTOBER).total.accepted == 0  # not folded yet

    fold()
    before = figures.figures(**OCTOBER).total
    services.case_resolve(case=case, actor=chen, result="已劝离摊贩")
    fold()
    after = figures.figures(**OCTOBER).total

    assert (before.accepted, before.closure_rate.numerator) == (1, 0)
    assert (after.accepted, after.closure_rate.numerator, after.closure_rate.denominator) == (1, 1, 1)
    assert StaleCase.objects.count() == 0


def test_it_registers_the_folding_job_with_the_worker(db: None) -> None:
    assert "civicgrid.analytics.jobs.refresh_rollups" in {job.name for job in registered_jobs()}
    assert refresh_rollups() is False  # nothing to do: says so, so the worker may sleep


def test_it_leaves_the_rollups_untouched_when_the_change_rolls_back(
    handled: Callable[[], Case], chen: User
) -> None:
    case = handled()
    fold()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.case_resolve(case=case, actor=chen, result="已劝离摊贩")
        raise RuntimeError("the request failed after the service")

    assert StaleCase.objects.count() == 0
    assert figures.figures(**OCTOBER).total.closure_rate.numerator == 0


def test_it_keeps_no_row_of_a_case_that_is_gone(handled: Callable[[], Case]) -> None:
    case = handled()
    fold()
    Case.objects.filter(pk=case.pk).delete()

    rollups.mark_stale([case.pk])
    fold()

    assert figures.figures(**OCTOBER).total.accepted == 0
    assert CaseFact.objects.get(case_id=case.pk).contributions == []


def test_it_rebuilds_from_the_command_without_changing_a_figure(
    handled: Callable[[], Case], chen: User
) -> None:
    cases = [handled() for _ in range(3)]
    services.case_resolve(case=cases[0], actor=chen, result="已处理")
    fold()
    before = figures.figures(**OCTOBER, group_by="item"), figures.figures(**OCTOBER, group_by="unit")
    # drift, as after a bad manual edit
    for counts in (DailyFigure, MonthlyFigure, PlaceDailyFigure, PlaceMonthlyFigure):
        counts.objects.update(accepted=99, resolves=7)

    out = StringIO()
    call_command("rollup", "rebuild", stdout=out, stderr=StringIO())

    assert "3" in out.getvalue()
    assert (
        figures.figures(**OCTOBER, group_by="item"),
        figures.figures(**OCTOBER, group_by="unit"),
    ) == before


def test_it_rebuilds_only_the_cases_created_in_the_days_asked(
    handled: Callable[[], Case], clock: Callable[[str], None]
) -> None:
    handled()
    clock("2026-10-20 09:00")
    handled()
    fold()
    before = figures.figures(**OCTOBER)

    assert rollups.rebuild(start=date(2026, 10, 20), end=date(2026, 10, 21)) == 1
    assert figures.figures(**OCTOBER) == before


def test_it_fills_the_monthly_rollups_from_the_daily_ones_on_migrating(
    handled: Callable[[], Case], chen: User, clock: Callable[[str], None]
) -> None:
    # given cases over two months, folded (the worker writes the daily and the monthly rows)
    cases = [handled() for _ in range(2)]
    clock("2026-11-03 09:00")
    cases.append(handled())
    services.case_resolve(case=cases[0], actor=chen, result="已处理")
    fold()
    tables = (MonthlyFigure, PlaceMonthlyFigure, MonthlyDueFigure, PlaceMonthlyDueFigure)

    def rows() -> list[set[tuple[object, ...]]]:
        return [
            {tuple(r) for r in m.objects.values_list(*[f.attname for f in m._meta.fields[1:]])}
            for m in tables
        ]

    written = rows()
    assert all(written)
    # when the migration that adds them fills them from the daily rows of a database without them
    for model in tables:
        model.objects.all().delete()
    migration = importlib.import_module("civicgrid.analytics.migrations.0005_monthly_rollups")
    migration.fill(django_apps, None)

    # then they hold what the worker wrote
    assert rows() == written


def test_it_counts_the_cases_supervised_before_the_counter_existed_once_migrated(
    handled: Callable[[], Case], supervisor: User, clock: Callable[[str], None]
) -> None:
    # given a case supervised twice and one never, folded
    watched, _quiet = handled(), handled()
    clock("2026-10-13 09:00")
    services.case_supervise(case=watched, actor=supervisor, note="请加快办理")
    clock("2026-10-14 09:00")
    services.case_supervise(case=watched, actor=supervisor, note="再次督办")
    fold()
    assert figures.figures(**OCTOBER).total.supervised == 1
    # …as a database folded before the 督办 counter: no column value, 13 counters per stored row
    for model in (DailyFigure, PlaceDailyFigure, MonthlyFigure, PlaceMonthlyFigure):
        model.objects.update(supervised=0)
    for fact in CaseFact.objects.all():
        fact.contributions = [row[:-1] if row[1] == "d" else row for row in fact.contributions]
        fact.save()
    assert figures.figures(**OCTOBER).total.supervised == 0

    # when the migration marks the supervised cases and the worker folds them
    migration = importlib.import_module("civicgrid.analytics.migrations.0008_supervised")
    migration.mark_supervised(django_apps, None)
    assert list(StaleCase.objects.values_list("case_id", flat=True)) == [watched.pk]
    fold()

    # then the case counts once, on the day of its first supervision, and nothing else moved
    assert figures.figures(**OCTOBER).total.supervised == 1
    assert figures.figures(start=date(2026, 10, 13), end=date(2026, 10, 14)).total.supervised == 1
    assert figures.figures(start=date(2026, 10, 14), end=date(2026, 10, 15)).total.supervised == 0
    assert figures.figures(**OCTOBER).total.accepted == 2


@pytest.mark.parametrize(
    "arguments",
    [["rebuild", "--from", "yesterday"], ["rebuild", "--from", "2026-10-02", "--to", "2026-10-01"], ["drop"]],
)
def test_it_refuses_bad_arguments_with_a_clear_error(db: None, arguments: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("rollup", *arguments, stdout=StringIO(), stderr=StringIO())


def test_it_counts_a_case_again_as_a_repeat_when_an_earlier_one_arrives_later(
    new_case: CaseMaker, centre: User, clock: Callable[[str], None]
) -> None:
    # given a case folded in alone, then an earlier one from the same phone loaded afterwards
    clock("2026-10-12 09:00")
    later = new_case()
    services.case_accept(case=later, actor=centre)
    fold()
    assert figures.figures(**OCTOBER).total.repeat_share.numerator == 0
    clock("2026-10-05 09:00")
    earlier = new_case()
    services.case_accept(case=earlier, actor=centre)

    # when the worker folds the earlier one in
    fold()

    # then the later one became a repeat (重复诉求) without anyone touching it
    assert figures.figures(**OCTOBER).total.repeat_share == Ratio(1, 2)


def test_it_folds_later_cases_again_only_when_an_earlier_one_changes_what_they_repeat(
    handled: Callable[[], Case], chen: User, supervisor: User, clock: Callable[[str], None]
) -> None:
    # given two cases from the same phone, the second a repeat of the first
    earlier = handled()
    clock("2026-10-13 09:00")
    later = handled()
    fold()
    assert figures.figures(**OCTOBER).total.repeat_share == Ratio(1, 2)

    # when the earlier one is resolved, nothing the later one repeats changes: it is not folded again
    services.case_resolve(case=earlier, actor=chen, result="已处理")
    assert rollups.refresh() == 1
    assert not StaleCase.objects.exists()

    # when it is excluded from the figures, it is nobody's earlier case any more
    exclusions.case_request_exclusion(case=earlier, actor=chen, reason="malicious", note="恶意")
    exclusions.case_exclude(case=earlier, actor=supervisor)
    assert rollups.refresh() == 1
    assert list(StaleCase.objects.values_list("case_id", flat=True)) == [later.pk]
    fold()
    assert figures.figures(**OCTOBER).total.repeat_share == Ratio(0, 1)


def test_it_reads_a_neighbourhood_stored_before_the_exclusion_flag_as_not_excluded(
    handled: Callable[[], Case], chen: User, clock: Callable[[str], None]
) -> None:
    earlier = handled()
    clock("2026-10-13 09:00")
    handled()
    fold()
    fact = CaseFact.objects.get(case_id=earlier.pk)
    fact.neighbourhood = fact.neighbourhood[:3]  # [phone, building, item], as folded before
    fact.save()

    services.case_resolve(case=earlier, actor=chen, result="已处理")
    assert rollups.refresh() == 1

    assert not StaleCase.objects.exists()  # the later case is not folded again
    assert CaseFact.objects.get(case_id=earlier.pk).neighbourhood[3:] == [0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_it_folds_each_change_once_with_workers_in_parallel(handled: Callable[[], Case], chen: User) -> None:
    cases = [handled() for _ in range(40)]
    for case in cases[::2]:
        services.case_resolve(case=case, actor=chen, result="已处理")
    rollups.mark_stale([c.pk for c in cases] * 3)  # the same cases, marked many times over

    def work() -> None:
        try:
            while rollups.refresh(limit=7):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    total = figures.figures(**OCTOBER).total
    assert (total.accepted, total.closure_rate.numerator, total.due) == (40, 20, 40)
    assert StaleCase.objects.count() == 0
