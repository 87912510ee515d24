"""The worker loop: run every registered job until none finds work, sleep, repeat; stop on a signal."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from django.db import DatabaseError, close_old_connections, connection

from civicgrid.jobs import Registered

log = logging.getLogger("civicgrid.worker")


class Worker:
    """Runs jobs in a loop. SIGTERM/SIGINT end it after the job in hand; a lost database is waited for."""

    def __init__(self, jobs: list[Registered], *, idle_seconds: float, max_backoff: float = 60.0) -> None:
        self.jobs = jobs
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff
        self.stopping = threading.Event()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping after the current job", signal.Signals(signum).name)
        self.stopping.set()

    def run_once(self) -> bool:
        """Run each job once; return whether any of them found work."""
        found = False
        for registered in self.jobs:
            if self.stopping.is_set():
                break
            if registered.run():
                found = True
        return found

    def run(self, *, once: bool = False, until_idle: bool = False) -> None:
        """Loop until stopped; `once`: one round; `until_idle`: until a round finds no work (tests, cron)."""
        backoff = 1.0
        log.info("worker started with %d jobs", len(self.jobs))
        while not self.stopping.is_set():
            try:
                close_old_connections()
                found = self.run_once()
                backoff = 1.0
            except DatabaseError as exc:
                # The database went away (restart, failover): drop the connection and wait, doubling
                # the pause, instead of crashing and being restarted in a tight loop.
                log.warning("database unavailable (%s); retrying in %.0f s", exc.__class__.__name__, backoff)
                connection.close()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if once or (until_idle and not found):
                break
            if not found:
                self.stopping.wait(self.idle_seconds)
        connection.close()
        log.info("worker stopped")
