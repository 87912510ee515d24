"""The worker loop: runs registered jobs, sleeps when idle, stops on SIGTERM, survives a lost database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

from django.db import OperationalError

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.jobs import purge_idempotency_keys
from civicgrid.cases.models import IdempotencyKey
from civicgrid.jobs import Registered, registered_jobs
from civicgrid.ops.worker import Worker
from tests.conftest import CaseMaker


def test_it_discovers_the_jobs_of_every_app() -> None:
    names = [r.name for r in registered_jobs()]

    assert "civicgrid.cases.jobs.purge_idempotency_keys" in names


def test_it_purges_only_keys_older_than_the_ttl(new_case: CaseMaker, integrator: User) -> None:
    case = new_case()
    old = IdempotencyKey.objects.create(
        user=integrator, key="old", request_hash="h", case=case, created_at=clock.now() - timedelta(days=3)
    )
    fresh = IdempotencyKey.objects.create(
        user=integrator, key="new", request_hash="h", case=case, created_at=clock.now()
    )

    assert purge_idempotency_keys() is True
    assert purge_idempotency_keys() is False
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


def test_it_keeps_running_jobs_while_they_find_work_and_stops_when_told(transactional_db: None) -> None:
    calls: list[str] = []
    worker: Worker

    def busy_three_times() -> bool:
        calls.append("job")
        if len(calls) == 3:
            worker.stopping.set()
        return True

    worker = Worker([Registered("busy", busy_three_times)], idle_seconds=30)
    worker.run()

    assert calls == ["job", "job", "job"]


def test_it_waits_and_retries_when_the_database_is_away(transactional_db: None) -> None:
    attempts: list[int] = []
    worker: Worker

    def flaky() -> bool:
        attempts.append(1)
        if len(attempts) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        worker.stopping.set()
        return False

    worker = Worker([Registered("flaky", flaky)], idle_seconds=30, max_backoff=0.01)
    worker.stopping.wait = lambda timeout=None: False  # type: ignore[method-assign]  # no real pauses
    worker.run()

    assert len(attempts) == 3


def test_it_stops_cleanly_on_sigterm(tmp_path: object) -> None:
    env = {**os.environ, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{tmp_path}/w.sqlite3"}
    cli = [sys.executable, "-m", "civicgrid"]
    subprocess.run([*cli, "migrate", "-v0"], env=env, check=True, timeout=120)
    process = subprocess.Popen(
        [*cli, "worker", "--idle", "30"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    seen: list[str] = []
    while not any("worker started" in line for line in seen):  # then it is in its loop
        seen.append(process.stdout.readline())
        assert seen[-1], f"the worker exited early: {seen}"

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)

    assert process.returncode == 0, output
    assert "worker stopped" in output
