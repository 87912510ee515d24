"""`civicgrid simulate --cases N --years Y [--seed S] [--end YYYY-MM-DD] [--district CODE]`."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from civicgrid.ops.simulate import Options, SimulationError, simulate


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(_("日期格式应为 YYYY-MM-DD：%(text)s") % {"text": text}) from None


class Command(BaseCommand):
    help = (
        "Write N simulated cases with their full histories over the last Y years (COPY on PostgreSQL): "
        "seasonality, channel and catalogue mix, deadlines on the working-day calendar, ratings, "
        "returns, reopens, escalations, extensions; recent cases still open. Loads the demo district "
        "first when the database has none."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--cases", type=int, required=True, help="how many cases to write")
        parser.add_argument("--years", type=float, required=True, help="over how many years (e.g. 1, 2.5)")
        parser.add_argument("--seed", type=int, default=None, help="random seed (same seed, same history)")
        parser.add_argument("--end", type=_day, default=None, help="last day simulated (default: today)")
        parser.add_argument("--district", default=None, help="district code (when the database has several)")
        parser.add_argument(
            "--skip-rollups",
            action="store_true",
            help="do not rebuild the statistics' rollups afterwards (run `civicgrid rollup rebuild` later)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = Options(
            cases=options["cases"],
            years=options["years"],
            seed=options["seed"],
            end=options["end"],
            district=options["district"],
            rollups=not options["skip_rollups"],
        )
        try:
            outcome = simulate(wanted, progress=self._progress)
        except SimulationError as error:
            raise CommandError(str(error)) from error
        rows = outcome.rows
        self.stdout.write(
            _(
                "已模拟 %(cases)s 件诉求（%(first)s 至 %(last)s）：办理记录 %(events)s 条，"
                "承办记录 %(jobs)s 条，评价 %(ratings)s 条；写入用时 %(seconds).1f 秒（%(rate)s 件/秒），"
                "汇总表重建 %(rollup).1f 秒。"
            )
            % {
                "cases": f"{outcome.cases:,}",
                "first": outcome.first.isoformat(),
                "last": outcome.last.isoformat(),
                "events": f"{rows['event']:,}",
                "jobs": f"{rows['assignment']:,}",
                "ratings": f"{rows['rating']:,}",
                "seconds": outcome.seconds,
                "rate": f"{outcome.rate:,.0f}",
                "rollup": outcome.rollup_seconds,
            }
        )

    def _progress(self, line: str) -> None:
        self.stderr.write(line)
