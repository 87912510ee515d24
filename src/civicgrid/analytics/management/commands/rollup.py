"""`civicgrid rollup rebuild [--from DAY] [--to DAY]`: recompute the statistics' rollups from events."""

from __future__ import annotations

import sys
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from civicgrid.analytics import rollups


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("日期格式应为 YYYY-MM-DD：%(text)s") % {"text": text}) from None


class Command(BaseCommand):
    help = "Rebuild the statistics rollups from the event log (all cases, or those created in [from, to))."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild"])
        parser.add_argument("--from", dest="start", type=str, help="first creation day included (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", type=str, help="creation day excluded (YYYY-MM-DD)")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _day(options["start"]) if options["start"] else None
        end = _day(options["end"]) if options["end"] else None
        if start and end and end <= start:
            raise CommandError(_("--to 须晚于 --from"))
        began = time.monotonic()

        def progress(done: int) -> None:
            sys.stderr.write(f"\r{done:,} …")
            sys.stderr.flush()

        done = rollups.rebuild(start=start, end=end, progress=progress)
        seconds = time.monotonic() - began
        sys.stderr.write("\n")
        self.stdout.write(_("已重算 %(n)s 件诉求的统计汇总（%(s).1f 秒）") % {"n": f"{done:,}", "s": seconds})
