"""`civicgrid replan`: plan the clock's timers of every open case (after an upgrade or a settings change)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from civicgrid.cases.timers import replan_open_cases


class Command(BaseCommand):
    help = "Plan the deadline timers of every open case anew (after an upgrade or new clock settings)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = replan_open_cases()
        self.stdout.write(f"planned the timers of {count} open cases")
