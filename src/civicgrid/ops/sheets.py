"""Setup spreadsheets in and out (xlsx with openpyxl, csv with the csv module): one row type per sheet.

A sheet's first non-blank row is its header; columns are matched by name, in any order, and extra
columns are ignored. Row numbers are the ones a spreadsheet program shows (the header is row 1 when
it is the first line), so an administrator can find the row a problem names.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import override as language
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

# No file may hold more data rows than this (the web page and the CLI alike).
MAX_ROWS = 100_000

Cell = str | int | float | None


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of sheet, its sheet names and the column that gives it away in a csv."""

    kind: str
    title: Promise  # the Chinese sheet name, also the name shown on pages
    english: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    marker: str  # a column only this kind has: detects the kind of a csv from its header


LAYOUTS: dict[str, Layout] = {
    layout.kind: layout
    for layout in (
        Layout(
            "units",
            gettext_lazy("区域"),
            "units",
            ("编码", "名称", "类型", "上级编码", "网格类别", "电话", "纬度", "经度"),
            ("编码", "名称", "类型"),
            "类型",
        ),
        Layout(
            "buildings",
            gettext_lazy("楼栋"),
            "buildings",
            ("编码", "名称", "地址", "所在网格编码", "纬度", "经度"),
            ("编码", "名称", "所在网格编码"),
            "所在网格编码",
        ),
        Layout(
            "households",
            gettext_lazy("住户"),
            "households",
            ("楼栋编码", "单元", "房号", "户主姓名", "电话", "人数", "三色管理"),
            ("楼栋编码", "房号", "户主姓名"),
            "楼栋编码",
        ),
        Layout(
            "staff",
            gettext_lazy("人员"),
            "staff",
            ("账号", "姓名", "手机号", "单位编码", "岗位", "服务事项"),
            ("账号",),
            "账号",
        ),
    )
}
# Parents come before children: the order sheets are checked and written in.
KIND_ORDER = ("units", "buildings", "households", "staff")


class SheetError(Exception):
    """The file cannot be read at all (not an xlsx, not text, too many rows); the message says why."""


@dataclass
class Sheet:
    """One sheet of one kind: its rows as {column: text}, each with its spreadsheet row number."""

    kind: str
    name: str
    header_row: int
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.kind]

    @property
    def missing(self) -> list[str]:
        """Required columns the header lacks."""
        return [name for name in self.layout.required if name not in self.columns]


def sheet_title(kind: str) -> str:
    """The Chinese sheet name of a kind (区域, 楼栋…), whatever the page's language: files stay Chinese."""
    with language("zh-hans"):
        return str(LAYOUTS[kind].title)


def kind_for_sheet_name(name: str) -> str | None:
    clean = name.strip().lower()
    for layout in LAYOUTS.values():
        if clean in {sheet_title(layout.kind), layout.english, str(layout.title).lower()}:
            return layout.kind
    return None


def kind_for_header(columns: Sequence[str]) -> str | None:
    """The kind whose marker column is in the header (the first one, in parent-first order)."""
    found = [kind for kind in KIND_ORDER if LAYOUTS[kind].marker in columns]
    return found[0] if found else None


def cell_text(value: object) -> str:
    """A cell as the text an administrator typed: 13800138000.0 → "13800138000", None → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _sheet_from_rows(name: str, kind: str | None, lines: Iterable[tuple[int, list[str]]]) -> Sheet | None:
    """Build a sheet from (row number, cells); None when it has no header (an empty sheet)."""
    sheet: Sheet | None = None
    for number, cells in lines:
        if not any(cells):
            continue
        if sheet is None:
            columns = [cell.strip() for cell in cells]
            sheet = Sheet(kind or kind_for_header(columns) or "", name, number, columns)
            continue
        if len(sheet.rows) >= MAX_ROWS:
            raise SheetError(_("文件超过 %(max)d 行的上限，请分成几个文件导入") % {"max": MAX_ROWS})
        padded = cells + [""] * (len(sheet.columns) - len(cells))
        sheet.rows.append((number, dict(zip(sheet.columns, padded, strict=False))))
    return sheet


def read_xlsx(data: bytes) -> list[Sheet]:
    """Every non-empty sheet of a workbook; a sheet's kind comes from its name, else from its header."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SheetError(_("无法读取该 Excel 文件（请确认是 .xlsx 格式）")) from exc
    try:
        sheets = []
        for ws in book.worksheets:
            lines = (
                (number, [cell_text(value) for value in row])
                for number, row in enumerate(ws.iter_rows(values_only=True), start=1)
            )
            sheet = _sheet_from_rows(ws.title, kind_for_sheet_name(ws.title), lines)
            if sheet is not None:
                sheets.append(sheet)
        return sheets
    finally:
        book.close()


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB18030 (what Chinese Excel saves as "CSV")."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise SheetError(_("无法识别该 CSV 文件的编码（请另存为 UTF-8 编码的 CSV）"))


def read_csv(data: bytes, *, kind: str | None = None, name: str = "csv") -> list[Sheet]:
    """The one sheet of a csv file; its kind is `kind` if given, else detected from the header."""
    reader = csv.reader(io.StringIO(decode_text(data), newline=""))
    try:
        lines = [(number, [cell.strip() for cell in row]) for number, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise SheetError(_("CSV 文件格式有误：%(error)s") % {"error": exc}) from exc
    sheet = _sheet_from_rows(name, kind, lines)
    return [sheet] if sheet is not None else []


def read_sheets(data: bytes, *, filename: str, kind: str | None = None) -> list[Sheet]:
    """The sheets of an uploaded file, by its extension (the content is checked by the readers)."""
    lowered = filename.lower()
    if lowered.endswith(".xlsx"):
        return read_xlsx(data)
    if lowered.endswith(".csv"):
        return read_csv(data, kind=kind, name=filename.rsplit("/", 1)[-1])
    raise SheetError(_("只支持 .xlsx 或 .csv 文件（旧版 .xls 请另存为 .xlsx）"))


def row_count(sheets: Sequence[Sheet]) -> int:
    return sum(len(sheet.rows) for sheet in sheets)


# Writing ------------------------------------------------------------------------------------------


def write_xlsx(tables: Sequence[tuple[str, Iterator[list[Cell]]]]) -> bytes:
    """A workbook with one sheet per (kind, rows), each under its Chinese sheet name and header."""
    book = Workbook(write_only=True)
    for kind, rows in tables:
        ws = book.create_sheet(sheet_title(kind))
        ws.append(list(LAYOUTS[kind].columns))
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_csv(kind: str, rows: Iterator[list[Cell]]) -> bytes:
    """One kind as UTF-8 csv with a BOM, so Excel opens the Chinese text correctly."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(LAYOUTS[kind].columns)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")
