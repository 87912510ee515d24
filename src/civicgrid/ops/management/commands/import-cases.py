"""`civicgrid import-cases FILE.csv --mapping MAPPING.json [--dry-run] [--skip-bad] [--encoding utf-8|gbk]`.

The module's name is the command's: Django finds commands by file name and imports them with
importlib, which accepts the hyphen an `import` statement would refuse.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from civicgrid.ops import import_cases
from civicgrid.ops.management.commands.importsheet import ProgressBar


class Command(BaseCommand):
    help = (
        "Import cases from a previous system's CSV export, as described by a mapping file "
        "(docs/import-cases.md): every row is checked first; one bad row stops the file unless "
        "--skip-bad; rows imported before are left unchanged."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--mapping", required=True, help="the mapping JSON file")
        parser.add_argument("--dry-run", action="store_true", help="check and report only, write nothing")
        parser.add_argument("--skip-bad", action="store_true", help="import the good rows, report the bad")
        parser.add_argument("--encoding", default="utf-8", help="utf-8 (default) or gbk")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            mapping = import_cases.load_mapping(Path(options["mapping"]))
            table = import_cases.read_table(Path(options["file"]), encoding=options["encoding"])
            bar = ProgressBar(self.stderr, label=_("校验"), total=len(table.rows))
            checked = import_cases.check(table, mapping, progress=bar.update)
        except (import_cases.MappingError, import_cases.FileError) as exc:
            raise CommandError(str(exc)) from exc
        bar.finish()
        self._report(checked)
        if checked.problems and not options["skip_bad"]:
            message = _(
                "%(rows)d 行有问题（共 %(n)d 处），未写入任何数据；修正后重新导入，或加 --skip-bad 跳过这些行"
            )
            raise CommandError(message % {"rows": checked.bad_rows, "n": len(checked.problems)})
        if options["dry_run"]:
            self.stdout.write(self._summary(checked, created=len(checked.planned), dry_run=True))
            return
        self._import(checked)

    def _report(self, checked: import_cases.Checked) -> None:
        for problem in checked.problems:
            where = _("第 %(row)d 行") % {"row": problem.row}
            if problem.column:
                where += _("，列“%(column)s”") % {"column": problem.column}
            self.stdout.write(f"{where}：{problem.message}")
        for number in checked.changed:
            note = _("第 %(row)d 行：该编号已导入过，但内容与当时不同；已导入的诉求不会被覆盖，本行未导入")
            self.stdout.write(note % {"row": number})

    def _summary(self, checked: import_cases.Checked, *, created: int, dry_run: bool) -> str:
        counts = {
            "source": checked.source,
            "created": created,
            "unchanged": checked.unchanged,
            "changed": len(checked.changed),
            "skipped": checked.bad_rows,
        }
        line = _(
            "来源 %(source)s：新建 %(created)d，未变 %(unchanged)d，"
            "已变化未更新 %(changed)d，跳过 %(skipped)d"
        )
        return line % counts + (_("（试运行，未写入）") if dry_run else "")

    def _import(self, checked: import_cases.Checked) -> None:
        bar = ProgressBar(self.stderr, label=_("导入"), total=len(checked.planned))
        try:
            ids = import_cases.apply(checked, skip_bad=True, progress=bar.update)
        except import_cases.ImportFailed as exc:
            raise CommandError(exc.message()) from exc
        bar.finish()
        self.stdout.write(self._summary(checked, created=len(ids), dry_run=False))
        open_cases = sum(1 for _row, plan in checked.planned if plan.case["status"] in import_cases.PLANNED)
        if open_cases:
            note = _(
                "%(n)d 件导入的诉求仍在办理中：运行 civicgrid replan，由时钟接管其预警、超期督办与评价邀请"
            )
            self.stdout.write(note % {"n": open_cases})
