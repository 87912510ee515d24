"""Case history import (`civicgrid import-cases`): check every row, then write the file in one transaction.

`check()` reads the database and writes nothing: it lists every bad row (row number, column, reason),
counts rows imported before (unchanged, or edited since: those are never overwritten) and plans the
history of every good row. `apply()` writes the planned rows in one transaction, all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.cases.timers import PLANNED
from civicgrid.ops.import_cases.cells import CellReader, Lookups, Problem
from civicgrid.ops.import_cases.defaults import check_values
from civicgrid.ops.import_cases.mapping import Mapping, MappingError, load_mapping
from civicgrid.ops.import_cases.plan import Deadlines, Plan, build
from civicgrid.ops.import_cases.reading import FileError, Table, read_table
from civicgrid.ops.import_cases.rows import CaseRow, Options, fingerprint, read_row
from civicgrid.ops.import_cases.write import write_all
from civicgrid.ops.imports.rows import PROGRESS_EVERY, Progress, chunked, first_seen
from civicgrid.ops.models import ImportedCase

__all__ = [
    "PLANNED",
    "Checked",
    "FileError",
    "ImportFailed",
    "MappingError",
    "Problem",
    "apply",
    "check",
    "load_mapping",
    "read_table",
]


class ImportFailed(Exception):
    """The database refused a write; the transaction rolled back and nothing of the file was written."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause

    def message(self) -> str:
        return _("写入时出错，已全部撤销，未写入任何数据：%(cause)s") % {"cause": self.cause}


@dataclass
class Checked:
    """A dry run's outcome: the good rows with their plans, every problem, rows imported before."""

    source: str
    total: int
    planned: list[tuple[CaseRow, Plan]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unchanged: int = 0
    changed: list[int] = field(default_factory=list)  # row numbers imported before, edited since

    @property
    def bad_rows(self) -> int:
        return len({problem.row for problem in self.problems})


def check(table: Table, mapping: Mapping, *, progress: Progress | None = None) -> Checked:
    """Validate every row against the mapping, the database and the rest of the file; write nothing."""
    missing = [column for column in mapping.columns if column not in table.columns]
    if missing:
        raise MappingError(_("CSV 文件中没有映射所指的列：%(columns)s") % {"columns": "、".join(missing)})
    checker = _Checker(table, mapping)
    for done, (number, values) in enumerate(table.rows, start=1):
        checker.row(number, values)
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    if progress is not None:
        progress(checker.checked.total)
    return checker.checked


class _Checker:
    """What checking a file keeps across its rows: lookups, external ids seen, rows imported before."""

    def __init__(self, table: Table, mapping: Mapping) -> None:
        self.table, self.mapping = table, mapping
        self.lookups = Lookups.load()
        check_values(mapping, self.lookups)
        self.checked = Checked(source=mapping.source, total=len(table.rows))
        self.options, self.deadlines, self.now = Options(), Deadlines(), clock.now()
        self.seen: dict[str, int] = {}
        self.before = self._imported_before()

    def _imported_before(self) -> dict[str, str]:
        """External id → fingerprint of this file's rows already imported from the same source."""
        ids = {
            CellReader(self.mapping, number, values).raw("external_id") for number, values in self.table.rows
        }
        found: dict[str, str] = {}
        for batch in chunked(sorted(ids)):
            rows = ImportedCase.objects.filter(source=self.mapping.source, external_id__in=batch)
            found.update(rows.values_list("external_id", "fingerprint"))
        return found

    def row(self, number: int, values: dict[str, str]) -> None:
        reader = CellReader(self.mapping, number, values)
        if number in self.table.ragged:
            message = _(
                "本行有 %(cells)d 个单元格，多于表头的 %(columns)d 列：无法对应到列（是否有未加引号的逗号？）"
            )
            cells, columns = self.table.ragged[number], len(self.table.columns)
            self.checked.problems.append(Problem(number, "", message % {"cells": cells, "columns": columns}))
            return
        external_id = reader.raw("external_id")
        if external_id and self._repeated(reader, external_id):
            return
        if external_id in self.before:
            if self.before[external_id] == fingerprint(self.mapping, values):
                self.checked.unchanged += 1
            else:
                self.checked.changed.append(number)
            return
        self._plan(reader)

    def _repeated(self, reader: CellReader, external_id: str) -> bool:
        first = first_seen(self.seen, external_id, reader.number)
        if first is not None:
            message = _("外部编号“%(id)s”在本文件中重复（第 %(first)d 行已有）")
            reader.fail("external_id", message % {"id": external_id, "first": first})
            self.checked.problems += reader.problems
        return first is not None

    def _plan(self, reader: CellReader) -> None:
        row = read_row(reader, self.lookups, self.options)
        plan = build(row, reader, self.lookups, self.deadlines, self.now) if row is not None else None
        if row is not None and plan is not None:
            self.checked.planned.append((row, plan))
        self.checked.problems += reader.problems


def apply(checked: Checked, *, skip_bad: bool = False, progress: Progress | None = None) -> list[int]:
    """Write the good rows in one transaction (all or nothing); returns the new cases' ids.

    With problems, only `skip_bad` lets the good rows be written without the bad ones.
    """
    if checked.problems and not skip_bad:
        raise ValueError("apply() needs a check without problems, or skip_bad")
    try:
        with transaction.atomic():
            return write_all(checked.planned, source=checked.source, now=clock.now(), progress=progress)
    except DatabaseError as exc:
        raise ImportFailed(exc) from exc
