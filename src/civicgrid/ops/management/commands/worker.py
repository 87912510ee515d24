"""`civicgrid worker`: run the background jobs until stopped (SIGTERM/SIGINT)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from civicgrid.jobs import registered_jobs
from civicgrid.ops.worker import Worker


class Command(BaseCommand):
    help = "Run the background worker: deadline sweeps, deliveries, clean-ups. Stops cleanly on SIGTERM."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and exit")
        parser.add_argument(
            "--until-idle", action="store_true", help="run until no job finds work, then exit"
        )
        parser.add_argument(
            "--idle", type=float, default=None, help="seconds to sleep when no job found work"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = registered_jobs()
        idle = options["idle"] if options["idle"] is not None else settings.WORKER_IDLE_SECONDS
        worker = Worker(jobs, idle_seconds=idle)
        worker.install_signal_handlers()
        for registered in jobs:
            self.stdout.write(f"job: {registered.name}")
        worker.run(once=options["once"], until_idle=options["until_idle"])
