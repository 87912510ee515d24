"""Setup spreadsheet import: a dry run lists every bad row; the import writes each sheet in one transaction.

`check()` reads nothing but the database and writes nothing. `apply()` takes a check with no
problems and upserts sheet by sheet (区域 → 楼栋 → 住户 → 人员, parents first); each sheet is all
or nothing, and a row whose fields already match the database is not written, so importing the
same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.models import User
from civicgrid.ops.imports.counts import Counts
from civicgrid.ops.imports.places import (
    BuildingRow,
    HouseholdRow,
    apply_buildings,
    apply_households,
    check_buildings,
    check_households,
)
from civicgrid.ops.imports.rows import Context, Problem, Progress
from civicgrid.ops.imports.staff import StaffRow, apply_staff, check_staff
from civicgrid.ops.imports.units import UnitRow, apply_units, check_units
from civicgrid.ops.sheets import KIND_ORDER, Sheet, sheet_title
from civicgrid.org import refcache
from civicgrid.org.models import Building, Unit

__all__ = [
    "Checked",
    "Counts",
    "ImportFailed",
    "Problem",
    "Progress",
    "Report",
    "apply",
    "check",
    "count_label",
]

# The order the report lists its counts in.
COUNT_KEYS = ("units", "buildings", "households", "accounts", "posts")


def count_label(key: str) -> str:
    """The name of a kind of record in a report (单位, 楼栋…)."""
    labels = {
        "units": _("单位"),
        "buildings": _("楼栋"),
        "households": _("住户"),
        "accounts": _("账号"),
        "posts": _("岗位"),
    }
    return labels.get(key, key)


@dataclass
class Checked:
    """The outcome of a dry run: problems, and the typed rows of each kind found in the file."""

    problems: list[Problem] = field(default_factory=list)
    units: list[UnitRow] = field(default_factory=list)
    buildings: list[BuildingRow] = field(default_factory=list)
    households: list[HouseholdRow] = field(default_factory=list)
    staff: list[StaffRow] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # kinds present, in write order

    def rows_of(self, kind: str) -> int:
        return len(getattr(self, kind))


@dataclass
class Report:
    """Rows created, updated and unchanged per kind of record."""

    counts: dict[str, Counts] = field(default_factory=dict)

    @property
    def new_accounts(self) -> int:
        """Accounts created without a usable password: someone must set one in the admin."""
        return self.counts["accounts"].created if "accounts" in self.counts else 0

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {key: self.counts[key].as_dict() for key in COUNT_KEYS if key in self.counts}


class ImportFailed(Exception):
    """A sheet could not be written (its transaction rolled back); earlier sheets stay committed."""

    def __init__(self, kind: str, committed: list[str], cause: Exception) -> None:
        self.kind, self.committed, self.cause = kind, committed, cause
        super().__init__(f"{kind}: {cause}")

    def message(self) -> str:
        done = "、".join(sheet_title(kind) for kind in self.committed) or _("无")
        return _("写入“%(sheet)s”时出错，该表未导入（已提交的表：%(done)s）：%(cause)s") % {
            "sheet": sheet_title(self.kind),
            "done": done,
            "cause": self.cause,
        }


def _context(progress: Progress | None) -> Context:
    units = list(Unit.objects.values_list("code", "kind", "parent__code"))
    return Context(
        unit_kinds={code: kind for code, kind, _parent in units},
        unit_parents={code: parent or "" for code, _kind, parent in units},
        building_codes=set(Building.objects.values_list("code", flat=True)),
        usernames=set(User.objects.values_list("username", flat=True)),
        progress=progress,
    )


def _usable_sheets(sheets: Sequence[Sheet], ctx: Context) -> dict[str, Sheet]:
    """One sheet per kind; unknown sheets, second sheets of a kind and missing columns are problems."""
    found: dict[str, Sheet] = {}
    for sheet in sheets:
        if not sheet.kind:
            reason = _("无法识别该工作表：请命名为 区域、楼栋、住户 或 人员，并使用规定的列名")
        elif sheet.kind in found:
            reason = _("文件中已有一个“%(sheet)s”表") % {"sheet": sheet_title(sheet.kind)}
        elif sheet.missing:
            reason = _("缺少必填列：%(columns)s") % {"columns": "、".join(sheet.missing)}
        else:
            found[sheet.kind] = sheet
            continue
        ctx.flag(sheet, sheet.header_row, reason)
        ctx.done += len(sheet.rows)  # not checked row by row, but counted as seen for progress
    return found


def _check_sheet(checked: Checked, sheet: Sheet, ctx: Context) -> None:
    if sheet.kind == "units":
        checked.units = check_units(sheet, ctx)
    elif sheet.kind == "buildings":
        checked.buildings = check_buildings(sheet, ctx)
    elif sheet.kind == "households":
        checked.households = check_households(sheet, ctx)
    else:
        checked.staff = check_staff(sheet, ctx)
    checked.kinds.append(sheet.kind)


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    """Sheet by sheet (in checking order), row by row: how an administrator fixes them."""
    order: dict[str, int] = {}
    for problem in problems:
        order.setdefault(problem.sheet, len(order))
    return sorted(problems, key=lambda p: (order[p.sheet], p.row))


def check(sheets: Sequence[Sheet], *, progress: Progress | None = None) -> Checked:
    """Validate every row of every sheet against the database and the rest of the file; write nothing."""
    ctx = _context(progress)
    checked = Checked()
    if not any(sheet.rows for sheet in sheets):
        ctx.problems.append(Problem(sheets[0].name if sheets else "", 0, _("文件中没有数据行")))
    usable = _usable_sheets(sheets, ctx)
    for kind in KIND_ORDER:
        if kind in usable:
            _check_sheet(checked, usable[kind], ctx)
    checked.problems = _in_file_order(ctx.problems)
    if progress is not None:
        progress(ctx.done)
    return checked


def _write(checked: Checked, kind: str, report: Report) -> None:
    if kind == "units":
        report.counts["units"] = apply_units(checked.units)
    elif kind == "buildings":
        report.counts["buildings"] = apply_buildings(checked.buildings)
    elif kind == "households":
        report.counts["households"] = apply_households(checked.households)
    else:
        report.counts["accounts"], report.counts["posts"] = apply_staff(checked.staff)


def apply(checked: Checked, *, progress: Progress | None = None) -> Report:
    """Write a clean check, one transaction per sheet, parents first; progress advances per sheet."""
    if checked.problems:
        raise ValueError("apply() needs a check without problems")
    report, done, committed = Report(), 0, list[str]()
    for kind in checked.kinds:
        try:
            with transaction.atomic():
                _write(checked, kind, report)
                # Bulk writes send no post_save: retire the cached reference data (units, buildings,
                # posts, reaches) when the sheet commits, not after its TTL.
                transaction.on_commit(refcache.retire_all)
        except DatabaseError as exc:
            raise ImportFailed(kind, committed, exc) from exc
        committed.append(kind)
        done += checked.rows_of(kind)
        if progress is not None:
            progress(done)
    return report
