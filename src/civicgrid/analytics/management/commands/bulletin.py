"""`civicgrid bulletin --unit CODE --period 2026-10 --format xlsx|html [--output PATH]`: one bulletin now."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from civicgrid.analytics import rollups
from civicgrid.analytics.bulletins import services
from civicgrid.cases.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Generate and store one bulletin now (replacing an earlier file of it): a community's daily "
        "digest (--period 2026-10-12), a street's weekly analysis (2026-W42) or a district's monthly "
        "bulletin (2026-10). Figures are read from the statistics' rollups as the worker keeps them; "
        "--refresh folds pending changes in first (when no worker runs)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="code of a community, street or district")
        parser.add_argument("--period", required=True, help="2026-10-12, 2026-W42 or 2026-10")
        parser.add_argument("--format", dest="fmt", default="xlsx", help="xlsx (default) or html")
        parser.add_argument("--output", help="also write the file here (a file name or a directory)")
        parser.add_argument(
            "--refresh", action="store_true", help="fold changes not yet in the statistics first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            wanted = services.checked(code=options["unit"], period=options["period"], fmt=options["fmt"])
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        target = _target(options["output"]) if options["output"] else None
        if options["refresh"]:
            while rollups.refresh():
                pass
        began = time.monotonic()
        row = services.bulletin_generate(request=wanted, actor=None)
        seconds = time.monotonic() - began
        name = services.file_name(row)
        if target is not None:
            path = target / name if target.is_dir() else target
            with default_storage.open(row.file.name or "", "rb") as stored:
                path.write_bytes(stored.read())
            self.stdout.write(_("已写入 %(path)s") % {"path": path})
        self.stdout.write(
            _("已生成 %(name)s（%(size)s 字节，用时 %(s).2f 秒）")
            % {"name": name, "size": f"{row.size:,}", "s": seconds}
        )


def _target(text: str) -> Path:
    """The output path; its directory must exist (nothing is written when it does not)."""
    path = Path(text).expanduser()
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        raise CommandError(_("输出目录不存在：%(path)s") % {"path": folder})
    return path
