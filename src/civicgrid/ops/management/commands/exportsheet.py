"""`civicgrid exportsheet KIND FILE`: write units, buildings, households, staff (or all) as .xlsx or .csv."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from civicgrid.ops import exports


class Command(BaseCommand):
    help = "Export in the import format (the file's extension, .xlsx or .csv, picks the format)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", choices=exports.export_kinds(), help="what to export (all: xlsx only)")
        parser.add_argument("file", help="where to write, ending in .xlsx or .csv")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in exports.FORMATS:
            raise CommandError(_("文件名须以 .xlsx 或 .csv 结尾"))
        try:
            content = exports.export(options["kind"], fmt)
        except ValueError as exc:
            raise CommandError(_("“全部”只能导出为 .xlsx")) from exc
        try:
            path.write_bytes(content)
        except OSError as exc:
            raise CommandError(_("无法写入 %(path)s：%(error)s") % {"path": path, "error": exc}) from exc
        self.stdout.write(_("已写入 %(path)s") % {"path": path})
