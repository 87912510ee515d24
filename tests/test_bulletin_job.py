"""The worker's bulletins: due after the set hour, written once per period however many workers run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper

from civicgrid.analytics.bulletins import services
from civicgrid.analytics.jobs import write_bulletins
from civicgrid.analytics.models import Bulletin
from civicgrid.jobs import registered_jobs
from tests.conftest import Town, at

Clock = Callable[[str], None]


@pytest.fixture
def clock() -> Iterator[Clock]:
    traveller = time_machine.travel(at("2026-11-02 07:00"), tick=False)  # a Monday, after six
    shift = traveller.start()
    yield lambda text: shift.move_to(at(text))
    traveller.stop()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file rendered, by format: what "generated once" counts."""
    made: list[str] = []
    lock = threading.Lock()
    real = services.render

    def counted(content: object, fmt: str) -> bytes:
        with lock:
            made.append(fmt)
        return real(content, fmt)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "render", counted)
    return made


def drain() -> int:
    """Run the job until it finds nothing to do; how many times it found work."""
    found = 0
    while write_bulletins():
        found += 1
        assert found < 100
    return found


def written() -> list[tuple[str, str, str, str]]:
    rows = Bulletin.objects.filter(generated_at__isnull=False).select_related("unit")
    return sorted((r.unit.code, r.kind, r.period, r.format) for r in rows)


def test_it_is_registered_with_the_worker() -> None:
    assert "civicgrid.analytics.jobs.write_bulletins" in {r.name for r in registered_jobs()}


def test_it_writes_what_is_due_once_even_when_run_again(town: Town, clock: Clock, renders: list[str]) -> None:
    # given: Monday 2 November, 07:00 — yesterday's digests, last week's and last month's are due
    # when: the job runs until idle, twice
    first = drain()
    second = drain()

    # then: one call per area, both formats each, nothing the second time
    assert (first, second) == (4, 0)
    assert written() == [
        ("XC", "monthly", "2026-10", "html"),
        ("XC", "monthly", "2026-10", "xlsx"),
        ("XC-S1", "weekly", "2026-W44", "html"),
        ("XC-S1", "weekly", "2026-W44", "xlsx"),
        ("XC-S1-C1", "daily", "2026-11-01", "html"),
        ("XC-S1-C1", "daily", "2026-11-01", "xlsx"),
        ("XC-S1-C2", "daily", "2026-11-01", "html"),
        ("XC-S1-C2", "daily", "2026-11-01", "xlsx"),
    ]
    assert len(renders) == 8
    assert all(r.generated_by is None and r.size > 0 for r in Bulletin.objects.all())


def test_it_waits_for_the_set_hour_before_writing_yesterdays_digest(
    town: Town, clock: Clock, settings: SettingsWrapper
) -> None:
    settings.BULLETINS = {**settings.BULLETINS, "formats": ("xlsx",)}
    Bulletin.objects.all().delete()
    clock("2026-11-03 05:59")
    drain()
    assert {p for _, kind, p, _ in written() if kind == "daily"} == {"2026-11-01"}

    clock("2026-11-03 06:00")
    drain()

    assert {p for _, kind, p, _ in written() if kind == "daily"} == {"2026-11-01", "2026-11-02"}
    # the week and the month were written once, on the first run
    assert [p for _, kind, p, _ in written() if kind != "daily"] == ["2026-10", "2026-W44"]


def test_it_leaves_a_fresh_claim_alone_and_takes_over_an_abandoned_one(
    town: Town, clock: Clock, settings: SettingsWrapper, renders: list[str]
) -> None:
    settings.BULLETINS = {**settings.BULLETINS, "formats": ("html",)}
    others = [
        (town.district, "monthly", "2026-10"),
        (town.street, "weekly", "2026-W44"),
        (town.other_community, "daily", "2026-11-01"),
    ]
    for unit, kind, period in others:
        Bulletin.objects.create(
            unit=unit,
            kind=kind,
            period=period,
            format="html",
            start=at("2026-10-01 00:00").date(),
            end=at("2026-11-01 00:00").date(),
            claimed_at=at("2026-11-02 07:00"),
            generated_at=at("2026-11-02 07:00"),
        )
    claimed = Bulletin.objects.create(
        unit=town.community,
        kind="daily",
        period="2026-11-01",
        format="html",
        start=at("2026-11-01 00:00").date(),
        end=at("2026-11-02 00:00").date(),
        claimed_at=at("2026-11-02 06:50"),
    )

    assert drain() == 0  # another worker took it ten minutes ago

    clock("2026-11-02 07:21")
    assert drain() == 1  # thirty minutes without a file: abandoned

    claimed.refresh_from_db()
    assert claimed.generated_at == at("2026-11-02 07:21") and claimed.file.name
    assert renders == ["html"]


def test_it_survives_a_failure_and_retries_once_the_claim_expires(
    town: Town, clock: Clock, settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.BULLETINS = {**settings.BULLETINS, "formats": ("xlsx",)}

    def broken(request: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr("civicgrid.analytics.bulletins.schedule.content_of", broken)
    assert drain() == 4  # each area tried once, none written, the worker still running
    assert written() == [] and Bulletin.objects.filter(generated_at__isnull=True).count() == 4
    monkeypatch.undo()

    assert drain() == 0
    clock("2026-11-02 07:31")
    assert drain() == 4
    assert len(written()) == 4


def test_it_writes_nothing_when_switched_off(town: Town, clock: Clock, settings: SettingsWrapper) -> None:
    settings.BULLETINS = {**settings.BULLETINS, "enabled": False}

    assert drain() == 0 and not Bulletin.objects.exists()


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two workers at once need PostgreSQL (SQLite serialises writers)",
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_write_each_bulletin_once(town: Town, clock: Clock, renders: list[str]) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            drain()
        except BaseException as exc:  # a failure in a thread must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timedelta(minutes=2).total_seconds())

    assert errors == []
    assert len(written()) == 8 == Bulletin.objects.count()
    assert sorted(renders) == ["html"] * 4 + ["xlsx"] * 4
