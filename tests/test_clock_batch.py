"""The clock fires a batch in one pass: one write per kind of change, its messages in one INSERT, and a
timer that fails costs only itself (the pass is undone and its timers fire one by one)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from civicgrid.accounts.models import User
from civicgrid.cases import jobs, services
from civicgrid.cases.errors import CaseChangedMeanwhile
from civicgrid.cases.models import Case, Event, Timer
from civicgrid.cases.services.clock import Batch, Step, timer_fire
from civicgrid.cases.states import Action
from civicgrid.notify import outbox, recipients
from civicgrid.notify.models import Message
from tests.conftest import CaseMaker, Town, at

NOON = "2026-11-03 12:00"  # every case below: its response warning and response deadline passed


def dispatched(new_case: CaseMaker, centre: User, town: Town, count: int) -> list[Case]:
    """Cases given to 城管局 on Monday 2 Nov 2026 09:00 (24 h to respond, warning at 03:00 next day)."""
    cases = []
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        for _ in range(count):
            case = new_case()
            services.case_accept(case=case, actor=centre)
            services.case_dispatch(case=case, actor=centre, lead=town.urban)
            cases.append(case)
    return cases


def sweep(moment: str) -> None:
    with time_machine.travel(at(moment), tick=False):
        while jobs.fire_due_timers():
            pass


def clock_actions(case: Case) -> list[str]:
    return list(case.events.filter(actor=None, seq__gt=3).order_by("seq").values_list("action", flat=True))


def messages_of(case: Case) -> Counter[str]:
    return Counter(Message.objects.filter(case=case, event__actor=None).values_list("template", flat=True))


def test_it_undoes_only_the_timer_that_fails_in_the_middle_of_a_batch(
    new_case: CaseMaker, centre: User, chen: User, town: Town, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    # given five cases whose two response timers are due, the third case's warning broken
    cases = dispatched(new_case, centre, town, 5)
    broken = cases[2]
    real = timer_fire

    def fail_on_the_third(*, timer: Timer, **read: Any) -> Event | None:
        if timer.case_id == broken.pk and timer.rule == Timer.Rule.RESPONSE_WARNING:
            raise ValueError("broken")
        return real(timer=timer, **read)

    monkeypatch.setattr(jobs, "timer_fire", fail_on_the_third)

    # when the clock sweeps them in one batch
    with caplog.at_level(logging.INFO, logger="civicgrid.cases.jobs"):
        sweep(NOON)

    # then the broken warning left no event and no message; everything else happened once
    for case in cases:
        expected = ["response_overdue"] if case == broken else ["warn", "response_overdue"]
        assert clock_actions(case) == expected
        told = Counter({"response_overdue": 2}) + (
            Counter() if case == broken else Counter({"warn_response": 1})
        )
        assert messages_of(case) == told
        seqs = list(case.events.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))
    assert "fire again one by one" in caplog.text and "failed" in caplog.text
    assert not Timer.objects.filter(due_at__lte=at(NOON), fired_at=None).exists()  # it stays fired


def test_it_writes_a_batch_in_a_number_of_queries_that_does_not_grow_with_it(
    new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    # given twelve cases whose response warnings are due (and nothing else)
    dispatched(new_case, centre, town, 12)

    # when the clock fires their warnings in one batch
    with (
        time_machine.travel(at("2026-11-03 03:00"), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert jobs.fire_due_timers() is True

    # then a handful of statements did it: one UPDATE of the cases, one INSERT of the events and one
    # of their messages, whatever the number of timers
    assert Event.objects.filter(action="warn").count() == 12
    assert Message.objects.filter(template="warn_response").count() == 12
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum('INSERT INTO "notify_message"' in s for s in statements) == 1
    assert sum('INSERT INTO "cases_event"' in s for s in statements) == 1
    assert sum(s.startswith('UPDATE "cases_case"') for s in statements) == 1
    assert len(statements) <= 14, statements


def test_it_supervises_a_batch_of_overdue_cases_at_one_moment_in_one_update(
    new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    # given six acknowledged cases due 12 Nov 00:00, one of them at a later version (a note)
    cases = dispatched(new_case, centre, town, 6)
    with time_machine.travel(at("2026-11-02 10:00"), tick=False):
        for case in cases:
            services.case_acknowledge(case=case, actor=chen)
        services.case_note(case=cases[0], actor=chen, text="已联系商户")
    sweep("2026-11-11 23:59")  # their resolution warnings

    # when the clock, running in real time, supervises them in one batch
    with (
        time_machine.travel(at("2026-11-12 00:00"), tick=True),
        CaptureQueriesContext(connection) as queries,
    ):
        assert jobs.fire_due_timers() is True

    # then every case was marked at its event's moment, the batch's one moment, by one UPDATE
    moments = set()
    for case in Case.objects.filter(pk__in=[c.pk for c in cases]):
        event = case.events.get(action="supervise")
        assert (case.supervision, case.supervised_at) == ("yellow", event.at)
        moments.add(event.at)
    assert len(moments) == 1
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum(s.startswith('UPDATE "cases_case"') for s in statements) == 1


def test_it_writes_nothing_when_a_case_changed_before_the_batch_wrote(
    new_case: CaseMaker, centre: User, town: Town
) -> None:
    # given a case read for a batch, then changed by someone else
    [case] = dispatched(new_case, centre, town, 1)
    stale = Case.objects.get(pk=case.pk)
    Case.objects.filter(pk=case.pk).update(version=case.version + 1)

    # when its step is written with the batch
    with transaction.atomic():
        batch = Batch()
        batch.add(stale, Step(Action.WARN, town.urban, {"rule": "response"}, public=False))
        # then the guarded update finds it changed, and writes no event
        with pytest.raises(CaseChangedMeanwhile), transaction.atomic():
            batch.write()
    assert not case.events.filter(action="warn").exists()


def test_it_refuses_two_steps_for_one_case_in_a_batch(new_case: CaseMaker, centre: User, town: Town) -> None:
    [case] = dispatched(new_case, centre, town, 1)
    batch = Batch()
    batch.add(case, Step(Action.WARN, town.urban))

    with pytest.raises(ValueError, match="queued already"):
        batch.add(case, Step(Action.RESPONSE_OVERDUE, town.urban))


def test_it_drops_the_gathered_messages_when_the_block_fails(
    new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    # given an accepted case
    case = new_case()
    services.case_accept(case=case, actor=centre)

    # when its dispatch is gathered, and the block fails before it ends
    with pytest.raises(RuntimeError), transaction.atomic(), outbox.gathered():
        services.case_dispatch(case=Case.objects.get(pk=case.pk), actor=centre, lead=town.urban)
        assert not Message.objects.exists()  # kept, not written yet
        raise RuntimeError("the batch failed")

    # then nothing was written; and gathered without a failure, the message is written at the end
    assert not Message.objects.exists()
    with transaction.atomic(), outbox.gathered():
        services.case_dispatch(case=Case.objects.get(pk=case.pk), actor=centre, lead=town.urban)
    assert Counter(Message.objects.values_list("template", flat=True)) == Counter({"dispatch": 1})


def test_it_reads_the_staff_of_a_batchs_units_in_one_query(chen: User, sun: User, town: Town) -> None:
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        recipients.read_unit_staff(unit_ids=[town.urban.pk, town.water.pk])
        urban = recipients.unit_staff(unit_ids=[town.urban.pk])
        both = recipients.unit_staff(unit_ids=[town.water.pk, town.urban.pk])

    assert len(queries) == 1
    assert urban == [(chen.pk, chen.email)]
    assert both == sorted([(chen.pk, chen.email), (sun.pk, sun.email)])
