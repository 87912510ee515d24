"""`civicgrid replan`: open cases from before the clock existed get their timers."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

from django.core.management import call_command

from civicgrid.cases.models import Case, Timer


def test_it_plans_the_timers_of_open_cases_that_have_none(case_in: Callable[[str], Case]) -> None:
    dispatched, closed = case_in("dispatched"), case_in("closed")
    planned = set(Timer.objects.filter(case=dispatched).values_list("rule", "due_at"))
    Timer.objects.all().delete()  # as after an upgrade: the cases predate their timers
    out = StringIO()

    call_command("replan", stdout=out)

    assert set(Timer.objects.filter(case=dispatched).values_list("rule", "due_at")) == planned
    assert not Timer.objects.filter(case=closed).exists()
    assert "planned the timers of 1 open cases" in out.getvalue()


def test_it_changes_nothing_when_run_twice(case_in: Callable[[str], Case]) -> None:
    case_in("in_progress")
    call_command("replan", stdout=StringIO())
    before = list(Timer.objects.order_by("pk").values_list("pk", "rule", "due_at"))

    call_command("replan", stdout=StringIO())

    assert list(Timer.objects.order_by("pk").values_list("pk", "rule", "due_at")) == before
