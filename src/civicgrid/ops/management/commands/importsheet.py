"""`civicgrid importsheet FILE [--dry-run] [--kind KIND]`: check a setup spreadsheet, then import it."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.utils.translation import gettext as _

from civicgrid.ops import imports
from civicgrid.ops.sheets import KIND_ORDER, Sheet, SheetError, read_sheets, row_count


class ProgressBar:
    """`label [#####.....] done/total` redrawn in place on stderr (stdout stays clean for the report)."""

    WIDTH = 30

    def __init__(self, out: OutputWrapper, *, label: str, total: int) -> None:
        self.out, self.label, self.total = out, label, max(total, 1)

    def update(self, done: int) -> None:
        filled = self.WIDTH * min(done, self.total) // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.out.write(f"\r{self.label} [{bar}] {done}/{self.total}", style_func=str, ending="")
        self.out.flush()

    def finish(self) -> None:
        self.update(self.total)
        self.out.write("", style_func=str)


class Command(BaseCommand):
    help = (
        "Import units, buildings, households and staff from .xlsx (sheets 区域/楼栋/住户/人员) or .csv: "
        "every row is checked first; with problems, nothing is written."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the .xlsx or .csv file")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--kind", choices=KIND_ORDER, help="what a csv holds (default: from its header)")

    def handle(self, *args: Any, **options: Any) -> None:
        sheets = self._read(Path(options["file"]), options["kind"])
        total = row_count(sheets)
        bar = ProgressBar(self.stderr, label=_("校验"), total=total)
        checked = imports.check(sheets, progress=bar.update)
        bar.finish()
        if checked.problems:
            for problem in checked.problems:
                self.stdout.write(_("%(sheet)s 第 %(row)d 行：%(message)s") % problem.as_dict())
            raise CommandError(_("发现 %(n)d 个问题，未写入任何数据") % {"n": len(checked.problems)})
        if options["dry_run"]:
            self.stdout.write(_("校验通过：%(n)d 行，没有发现问题（试运行，未写入）") % {"n": total})
            return
        self._import(checked, total)

    def _read(self, path: Path, kind: str | None) -> list[Sheet]:
        try:
            return read_sheets(path.read_bytes(), filename=path.name, kind=kind)
        except OSError as exc:
            raise CommandError(_("无法读取文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from exc
        except SheetError as exc:
            raise CommandError(str(exc)) from exc

    def _import(self, checked: imports.Checked, total: int) -> None:
        bar = ProgressBar(self.stderr, label=_("导入"), total=total)
        try:
            report = imports.apply(checked, progress=bar.update)
        except imports.ImportFailed as exc:
            raise CommandError(exc.message()) from exc
        bar.finish()
        for key, counts in report.as_dict().items():
            line = _("%(kind)s：新建 %(created)d，更新 %(updated)d，未变 %(unchanged)d")
            self.stdout.write(line % {"kind": imports.count_label(key), **counts})
        if report.new_accounts:
            note = _("新建的 %(n)d 个账号没有密码，不能登录：请在管理后台为其设置密码")
            self.stdout.write(note % {"n": report.new_accounts})
