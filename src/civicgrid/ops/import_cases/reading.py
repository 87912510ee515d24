"""Reading the CSV export of a previous system: its encoding, its header and its rows, or why not."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from civicgrid.ops.sheets import MAX_ROWS

# What --encoding accepts → the codec that reads it: GB18030 is the superset of GBK and GB2312 that
# Chinese Excel really writes; utf-8-sig also drops the BOM Excel puts in front of UTF-8.
ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf8": "utf-8-sig",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
}


class FileError(Exception):
    """The file cannot be read as a CSV table at all; the message (Chinese) says why."""


@dataclass
class Table:
    """The header and the data rows as {column: text}, each with its spreadsheet row number."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # Rows with more cells than the header: their cells cannot be matched to columns.
    ragged: dict[int, int] = field(default_factory=dict)


def codec_for(encoding: str) -> str:
    codec = ENCODINGS.get(encoding.strip().lower())
    if codec is None:
        raise FileError(_("不支持的编码“%(encoding)s”：请用 utf-8 或 gbk") % {"encoding": encoding})
    return codec


def read_table(path: Path, *, encoding: str = "utf-8") -> Table:
    codec = codec_for(encoding)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileError(_("无法读取文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from exc
    return parse_table(decode(data, codec=codec, encoding=encoding))


def decode(data: bytes, *, codec: str, encoding: str) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise FileError(_("这是 Excel 工作簿（.xlsx），不是 CSV：请在 Excel 中另存为 CSV 后导入"))
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = _("请加 --encoding gbk") if codec.startswith("utf") else _("请加 --encoding utf-8")
        message = _("按 %(encoding)s 编码无法读取该文件（第 %(line)d 行附近）：%(hint)s")
        raise FileError(message % {"encoding": encoding, "line": line, "hint": hint}) from exc
    if "\x00" in text:
        raise FileError(_("文件含有空字符，不是文本 CSV 文件"))
    return text


def parse_table(text: str) -> Table:
    """The first non-blank row is the header; row numbers count records as a spreadsheet shows them."""
    # strict: an unbalanced quote is an error, not a field swallowing the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    table: Table | None = None
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            table = _add(table, number, [cell.strip() for cell in cells])
    except csv.Error as exc:
        message = _("CSV 文件格式有误（第 %(row)d 行）：%(error)s")
        raise FileError(message % {"row": number + 1, "error": exc}) from exc
    if table is None or not table.rows:
        raise FileError(_("文件中没有数据行"))
    return table


def _add(table: Table | None, number: int, cells: list[str]) -> Table | None:
    if not any(cells):
        return table  # blank lines, above the header or between rows, are no rows
    if table is None:
        return _header(cells)
    if len(table.rows) >= MAX_ROWS:
        raise FileError(_("文件超过 %(max)d 行的上限，请分成几个文件导入") % {"max": MAX_ROWS})
    if len(cells) > len(table.columns):
        table.ragged[number] = len(cells)
    padded = cells + [""] * (len(table.columns) - len(cells))
    table.rows.append((number, dict(zip(table.columns, padded, strict=False))))
    return table


def _header(cells: list[str]) -> Table:
    seen: set[str] = set()
    for name in cells:
        if name and name in seen:
            raise FileError(_("表头中的列“%(column)s”出现了不止一次") % {"column": name})
        seen.add(name)
    return Table(columns=cells)
