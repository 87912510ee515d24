"""Workers on PostgreSQL: four in parallel fire each due timer once; one killed mid-batch loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.errors import CaseChangedMeanwhile
from civicgrid.cases.jobs import TIMER_BATCH, fire_due_timers
from civicgrid.cases.models import Case, Event, Timer
from civicgrid.jobs import Registered
from civicgrid.notify.models import InboxItem, Message, Transport
from civicgrid.ops.worker import Worker
from tests.conftest import CaseMaker, Town
from tests.test_concurrency import race

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="parallel workers claim timers with row locks (SKIP LOCKED) only on PostgreSQL",
)
# What each timer rule records (the event's action).
ACTION_OF = {
    "response_warning": "warn",
    "resolution_warning": "warn",
    "response_overdue": "response_overdue",
    "not_reported": "not_reported",
    "overdue": "supervise",
    "escalation": "escalate",
    "extension_reminder": "remind",
    "rating_request": "rating_request",
    "callback": "callback_due",
}


@dataclass
class DueSet:
    """Cases whose timers are due now, and the events the clock must record for each, once."""

    expected: dict[int, Counter[str]] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(sum(c.values()) for c in self.expected.values())


@dataclass
class People:
    centre: User
    chen: User
    town: Town


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker(*args: str) -> subprocess.Popen[str]:
    """`civicgrid worker` against the test database, its log lines on stdout."""
    env = {**os.environ, "SECRET_KEY": "t", "DATABASE_URL": _database_url(), "LOG_LEVEL": "INFO"}
    return subprocess.Popen(
        [sys.executable, "-m", "civicgrid", "worker", "--idle", "0", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _dispatched(new_case: CaseMaker, p: People, moment: datetime) -> Case:
    with time_machine.travel(moment, tick=False):
        case = new_case()
        services.case_accept(case=case, actor=p.centre)
        services.case_dispatch(case=case, actor=p.centre, lead=p.town.urban)
    return case


def silent_units(new_case: CaseMaker, p: People, now: datetime, count: int, due: DueSet) -> None:
    """Given to a unit 30 h ago (24 h to respond): warned, response overdue, not reported (3 timers)."""
    for _ in range(count):
        case = _dispatched(new_case, p, now - timedelta(hours=30))
        due.expected[case.pk] = Counter({"warn": 1, "response_overdue": 1, "not_reported": 1})


def unrated(new_case: CaseMaker, p: People, now: datetime, count: int, due: DueSet) -> None:
    """Resolved four days ago, never rated: a rating request and a callback (2 timers)."""
    for _ in range(count):
        case = _dispatched(new_case, p, now - timedelta(days=4))
        with time_machine.travel(now - timedelta(days=4), tick=False):
            services.case_acknowledge(case=case, actor=p.chen)
            services.case_resolve(case=case, actor=p.chen, result="已处理")
        due.expected[case.pk] = Counter({"rating_request": 1, "callback_due": 1})


def long_overdue(new_case: CaseMaker, p: People, now: datetime, count: int, due: DueSet) -> None:
    """Accepted 40 days ago, given to the unit just before its deadline: supervised, escalated (2 timers)."""
    for _ in range(count):
        with time_machine.travel(now - timedelta(days=40), tick=False):
            case = new_case()
            services.case_accept(case=case, actor=p.centre)
        assert case.resolve_by is not None
        # Dispatched after the resolution warning's moment, so the unit gets no warning.
        with time_machine.travel(case.resolve_by - timedelta(hours=1), tick=False):
            services.case_dispatch(case=case, actor=p.centre, lead=p.town.urban)
            services.case_acknowledge(case=case, actor=p.chen)
        due.expected[case.pk] = Counter({"supervise": 1, "escalate": 1})


def waiting_extensions(new_case: CaseMaker, p: People, now: datetime, count: int, due: DueSet) -> None:
    """An extension requested 30 h ago and still undecided: a reminder (1 timer)."""
    for _ in range(count):
        case = _dispatched(new_case, p, now - timedelta(hours=30))
        with time_machine.travel(now - timedelta(hours=30), tick=False):
            services.case_acknowledge(case=case, actor=p.chen)
            services.case_request_extension(case=case, actor=p.chen, days=2, reason="需协调")
        due.expected[case.pk] = Counter({"remind": 1})


def clock_events(cases: list[int]) -> dict[int, Counter[str]]:
    """The events the clock recorded per case (everything by the system actor)."""
    found: dict[int, Counter[str]] = {pk: Counter() for pk in cases}
    clock = Event.objects.filter(case_id__in=cases, actor=None).exclude(action="create")
    for case_id, action in clock.values_list("case_id", "action"):
        found[case_id][action] += 1
    return found


def assert_contiguous(cases: list[int]) -> None:
    for case in Case.objects.filter(pk__in=cases):
        seqs = list(Event.objects.filter(case=case).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, case.last_seq + 1)), case.number


def assert_outbox_drained_once(cases: list[int]) -> Counter[str]:
    """Every message of these cases' events was written once and delivered once; their count by
    the event's action is returned for the caller to compare with what the events call for."""
    messages = Message.objects.filter(event__case_id__in=cases)
    keys = list(messages.values_list("event_id", "transport", "user_id", "endpoint_id", "phone"))
    assert len(keys) == len(set(keys)), "a message was written twice"
    assert not messages.exclude(status=Message.Status.SENT).exists(), "the outbox was not drained"
    inbox = messages.filter(transport=Transport.INBOX)
    assert InboxItem.objects.filter(message__in=inbox).count() == inbox.count()
    return _clock_messages(cases)


def _clock_messages(cases: list[int]) -> Counter[str]:
    """Messages caused by the clock's events (the system as actor), by the event's action."""
    by_clock = Message.objects.filter(event__case_id__in=cases, event__actor=None).exclude(
        event__action="create"
    )
    return Counter(by_clock.values_list("event__action", flat=True))


def all_fired(before: datetime) -> None:
    """No timer due by `before` is left unfired (their events are compared by the caller)."""
    assert not Timer.objects.filter(due_at__lte=before, fired_at__isnull=True).exists()


def test_it_stops_a_worker_run_until_idle_once_a_round_finds_no_work(transactional_db: None) -> None:
    rounds: list[bool] = [True, True, False, True]

    Worker([Registered("busy twice", lambda: rounds.pop(0))], idle_seconds=30).run(until_idle=True)

    assert rounds == [True]


@pytest.fixture
def people(town: Town, centre: User, chen: User) -> People:
    return People(centre=centre, chen=chen, town=town)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_fires_each_due_timer_once_with_four_workers_in_parallel(
    new_case: CaseMaker, people: People
) -> None:
    now = timezone.now()
    due = DueSet()
    silent_units(new_case, people, now, 40, due)
    unrated(new_case, people, now, 40, due)
    long_overdue(new_case, people, now, 40, due)
    waiting_extensions(new_case, people, now, 40, due)
    assert Timer.objects.filter(due_at__lte=now, fired_at__isnull=True).count() == due.events == 320

    workers = [worker("--until-idle") for _ in range(4)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]

    assert [w.returncode for w in workers] == [0, 0, 0, 0], outputs
    assert not any("Traceback" in out or "database unavailable" in out for out in outputs), outputs
    cases = list(due.expected)
    all_fired(now)
    assert clock_events(cases) == due.expected
    assert_contiguous(cases)
    # Escalated to the district: the new lead's response clock runs from the escalation, not yet due.
    assert Case.objects.filter(pk__in=cases, supervision="red").count() == 40
    assert sum(out.count("civicgrid.cases.jobs case ") for out in outputs) == due.events  # a line each
    # The outbox: each event told its people once. warn → the unit (chen); response_overdue → chen
    # and the dispatcher; not_reported → the dispatcher; supervise → chen (no supervisor here);
    # escalate → nobody holds a handling post on the district, and no supervisor: no message.
    told = assert_outbox_drained_once(cases)
    assert told == Counter({"warn": 40, "response_overdue": 80, "not_reported": 40, "supervise": 40})


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_loses_and_duplicates_nothing_when_a_worker_is_killed_mid_batch(
    new_case: CaseMaker, people: People
) -> None:
    now = timezone.now()
    due = DueSet()
    silent_units(new_case, people, now, 300, due)  # 900 timers: several batches
    cases = list(due.expected)
    assert 2 * TIMER_BATCH < 900

    first = worker()
    assert first.stdout is not None
    logged = 0
    while logged < TIMER_BATCH + TIMER_BATCH // 2:  # halfway through the second batch
        line = first.stdout.readline()
        assert line, "the worker exited early"
        logged += "civicgrid.cases.jobs case " in line
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    committed = Timer.objects.filter(fired_at__isnull=False).count()
    assert 0 < committed < logged  # a batch was cut short; the work before it stands
    assert sum(sum(c.values()) for c in clock_events(cases).values()) == committed
    assert_contiguous(cases)
    # The outbox holds exactly the messages of the committed events, delivered or not yet.
    written = _clock_messages(cases)
    fired = Counter(e for found in clock_events(cases).values() for e in found.elements())
    assert written == Counter({a: n * (2 if a == "response_overdue" else 1) for a, n in fired.items()})

    second = worker("--until-idle")
    output, _ = second.communicate(timeout=300)

    assert second.returncode == 0, output
    all_fired(now)
    assert clock_events(cases) == due.expected
    assert_contiguous(cases)
    told = assert_outbox_drained_once(cases)
    assert told == Counter({"warn": 300, "response_overdue": 600, "not_reported": 300})


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_lets_a_unit_report_in_while_the_clock_fires_its_timers(
    new_case: CaseMaker, people: People
) -> None:
    now = timezone.now()
    cases = [_dispatched(new_case, people, now - timedelta(hours=30)) for _ in range(20)]

    def acknowledge_all() -> None:
        for case in cases:
            for _attempt in range(10):  # a 409 when the clock wrote first: read again and retry
                try:
                    services.case_acknowledge(case=Case.objects.get(pk=case.pk), actor=people.chen)
                    break
                except CaseChangedMeanwhile:
                    continue

    def sweep() -> None:
        while fire_due_timers():
            pass

    results = race(acknowledge_all, sweep)

    assert results == [None, None]  # neither side failed or deadlocked
    sweep()
    all_fired(now)
    ids = [c.pk for c in cases]
    assert_contiguous(ids)
    for found in clock_events(ids).values():
        assert set(found.values()) <= {1}  # each response rule at most once, before the unit reported in
    assert Event.objects.filter(case_id__in=ids, action="acknowledge").count() == 20
