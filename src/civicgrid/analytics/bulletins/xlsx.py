"""The bulletin as an Excel workbook (openpyxl): one sheet per section, Chinese headers, printable.

Rates are stored as fractions with the format 0.00% (0.9616 shows 96.16 %), so a reader can compute
with them; a rate with nothing to divide by is "—". Every sheet freezes its header row, repeats it on
each printed page and fits the width of an A4 page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from civicgrid.analytics.bulletins.content import Content, Line, Ranked, Share
from civicgrid.analytics.metrics import Ratio
from civicgrid.org.models import Unit

Value = str | int | float | datetime | None

RATE, POINTS, COUNT, TEXT, MOMENT, NUMBER = (
    "0.00%",
    "+0.00;-0.00;0.00",
    "#,##0",
    "@",
    "yyyy-mm-dd hh:mm",
    "0.00",
)
CHANGE = "+#,##0;-#,##0;0"
NONE = "—"

_HEAD_FONT = Font(name="黑体", bold=True, size=11)
_BODY_FONT = Font(name="宋体", size=10.5)
_HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")
_THIN = Side(style="thin", color="8C96A3")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


@dataclass(frozen=True)
class Column:
    header: str
    fmt: str = TEXT


def workbook(content: Content) -> bytes:
    """The whole bulletin as xlsx bytes."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    book.properties.title = f"{content.title}（{content.period.title}）"
    book.properties.creator = _("网格全响应平台")
    _overview(book, content)
    _ranking(book, content, _area_title(content.unit), content.areas)
    if content.departments:
        _ranking(book, content, _("部门排名"), content.departments)
    _shares(book, content, _("领域分析"), _("领域"), content.domains)
    _shares(book, content, _("事项分析"), _("事项"), content.items)
    _overdue(book, content)
    _supervised(book, content)
    _hotspots(book, content)
    _exclusions(book, content)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _area_title(unit: Unit) -> str:
    below = {
        Unit.Kind.DISTRICT: _("街道排名"),
        Unit.Kind.STREET: _("社区排名"),
        Unit.Kind.COMMUNITY: _("网格排名"),
    }
    return below.get(unit.kind, _("区域排名"))  # type: ignore[call-overload, no-any-return]


def cell_value(value: object) -> Value:
    """What a cell holds: a rate as its fraction (None → "—"), a moment in local time without zone."""
    if isinstance(value, Ratio):
        return NONE if value.rate is None else float(value.rate)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    return value  # type: ignore[return-value]


def _sheet(
    book: Workbook, content: Content, title: str, columns: Sequence[Column], rows: list[list[object]]
) -> Worksheet:
    ws: Worksheet = book.create_sheet(title)
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font, cell.fill, cell.border = _HEAD_FONT, _HEAD_FILL, _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append([cell_value(v) for v in row])
        for cell, column in zip(ws[ws.max_row], columns, strict=False):
            cell.font, cell.border = _BODY_FONT, _BORDER
            cell.number_format = column.fmt if cell.value != NONE else TEXT
            if cell.value == NONE or column.fmt not in (TEXT,):
                cell.alignment = Alignment(horizontal="right" if cell.value != NONE else "center")
    _widths(ws, columns, rows)
    _print_setup(ws, content, title, wide=len(columns) > 7)
    return ws


def _widths(ws: Worksheet, columns: Sequence[Column], rows: list[list[object]]) -> None:
    """Each column as wide as its longest text (a Chinese character counts two), within bounds."""
    for index, column in enumerate(columns, start=1):
        texts = [column.header] + [_shown(row[index - 1], column.fmt) for row in rows if index <= len(row)]
        width = max(_display_width(t) for t in texts) + 2
        ws.column_dimensions[get_column_letter(index)].width = min(max(width, 8), 48)


def _shown(value: object, fmt: str) -> str:
    if fmt == MOMENT:
        return "2026-10-12 09:00"
    if fmt in (RATE, POINTS):
        return "-100.00%"
    return "" if value is None else str(cell_value(value))


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _print_setup(ws: Worksheet, content: Content, title: str, *, wide: bool) -> None:
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    head, foot = ws.oddHeader, ws.oddFooter
    assert head is not None and foot is not None  # openpyxl makes both with the sheet
    head.center.text = f"{content.title}（{content.period.title}）· {title}"
    foot.center.text = _("第 &P 页，共 &N 页")


def _note(ws: Worksheet, text: str) -> None:
    """A line under the table (a cut list's full count, the sources): not part of the data."""
    ws.append([])
    ws.append([text])
    ws.cell(row=ws.max_row, column=1).font = Font(name="宋体", size=9, italic=True)


# --- sections ----------------------------------------------------------------------------------


def _overview(book: Workbook, content: Content) -> None:
    columns = [
        Column(_("指标")),
        Column(_("本期")),
        Column(_("上期")),
        Column(_("变化")),
        Column(_("本期分子"), NUMBER),
        Column(_("本期分母"), COUNT),
    ]
    ws = _sheet(book, content, _("概况"), columns, [_overview_row(line) for line in content.overview])
    for row, line in enumerate(content.overview, start=2):
        rate = isinstance(line.current, Ratio)
        for column, fmt in (
            (2, RATE if rate else COUNT),
            (3, RATE if rate else COUNT),
            (4, POINTS if rate else CHANGE),
        ):
            cell = ws.cell(row=row, column=column)
            cell.number_format = fmt if cell.value != NONE else TEXT
    moment = timezone.localtime(content.generated_at)
    _note(
        ws,
        _("%(title)s · 统计期 %(period)s（%(start)s 至 %(last)s）· 生成于 %(at)s")
        % {
            "title": content.title,
            "period": content.period.title,
            "start": content.period.start.isoformat(),
            "last": content.period.last.isoformat(),
            "at": f"{moment:%Y-%m-%d %H:%M}",
        },
    )
    ws.append(
        [
            _("变化：比率为与上期相差的百分点，件数为相差的件数；上期为 %(label)s。")
            % {"label": content.period.previous().label}
        ]
    )


def _overview_row(line: Line) -> list[object]:
    change = line.change
    if isinstance(line.current, Ratio):
        points = None if change is None else Decimal(change) * 100
        return [
            line.label,
            line.current,
            line.previous,
            NONE if points is None else points,
            line.current.numerator,
            line.current.denominator,
        ]
    return [line.label, line.current, line.previous, change, None, None]


def _figure_columns() -> list[Column]:
    return [
        Column(_("受理量"), COUNT),
        Column(_("应办结"), COUNT),
        Column(_("办结率"), RATE),
        Column(_("按期办结率"), RATE),
        Column(_("满意率"), RATE),
        Column(_("满意率（加权）"), RATE),
        Column(_("参评率"), RATE),
        Column(_("解决率"), RATE),
        Column(_("响应率"), RATE),
        Column(_("超期"), COUNT),
    ]


def figure_cells(row: Ranked | Share) -> list[object]:
    f = row.figures
    return [
        f.accepted,
        f.due,
        f.closure_rate,
        f.on_time_rate,
        f.satisfaction,
        f.satisfaction_weighted,
        f.participation,
        f.solved_rate,
        f.response_rate,
        f.overdue,
    ]


def _ranking(book: Workbook, content: Content, title: str, rows: list[Ranked]) -> None:
    columns = [Column(_("排名"), COUNT), Column(_("编码")), Column(_("名称")), *_figure_columns()]
    data = [[NONE if r.rank is None else r.rank, r.code, r.label, *figure_cells(r)] for r in rows]
    ws = _sheet(book, content, title, columns, data)
    _note(
        ws,
        _(
            "排名依次按按期办结率、满意率、受理量从高到低；本级为直接落在本区域、未落到下级的诉求，不参与排名。"
        ),
    )


def _shares(book: Workbook, content: Content, title: str, name: str, rows: list[Share]) -> None:
    columns = [Column(_("编码")), Column(name), Column(_("占比"), RATE), *_figure_columns()]
    _sheet(book, content, title, columns, [[r.code, r.label, r.share, *figure_cells(r)] for r in rows])


def _cut_note(ws: Worksheet, total: int, shown: int) -> None:
    if total > shown:
        _note(ws, _("共 %(total)s 件，列出前 %(shown)s 件。") % {"total": total, "shown": shown})
    else:
        _note(ws, _("共 %(total)s 件。") % {"total": total})


def _overdue(book: Workbook, content: Content) -> None:
    columns = [
        Column(_("编号")),
        Column(_("事项")),
        Column(_("所在区域")),
        Column(_("承办单位")),
        Column(_("办结时限"), MOMENT),
        Column(_("超期天数"), COUNT),
    ]
    listing = content.overdue
    data = [[r.number, r.item, r.place, r.handler, r.deadline, r.days] for r in listing.rows]
    _cut_note(_sheet(book, content, _("超期件"), columns, data), listing.total, len(listing.rows))


def _supervised(book: Workbook, content: Content) -> None:
    columns = [
        Column(_("编号")),
        Column(_("事项")),
        Column(_("所在区域")),
        Column(_("承办单位")),
        Column(_("督办等级")),
        Column(_("本期督办次数"), COUNT),
        Column(_("首次督办"), MOMENT),
        Column(_("最近督办"), MOMENT),
    ]
    listing = content.supervised
    data = [[r.number, r.item, r.place, r.handler, r.level, r.times, r.first, r.last] for r in listing.rows]
    _cut_note(_sheet(book, content, _("督办件"), columns, data), listing.total, len(listing.rows))


def _hotspots(book: Workbook, content: Content) -> None:
    columns = [
        Column(_("类别")),
        Column(_("名次"), COUNT),
        Column(_("区域")),
        Column(_("事项")),
        Column(_("件数"), COUNT),
        Column(_("占比"), RATE),
        Column(_("基线预期件数"), NUMBER),
        Column(_("倍数"), NUMBER),
        Column(_("P 值"), "0.0000"),
    ]
    spots = content.hotspots
    data: list[list[object]] = []
    data += [
        [_("热点区域"), i, r.label, "", r.count, r.share, None, None, None]
        for i, r in enumerate(spots.places.rows, 1)
    ]
    data += [
        [_("热点事项"), i, "", r.label, r.count, r.share, None, None, None]
        for i, r in enumerate(spots.items.rows, 1)
    ]
    data += [
        [_("苗头预警"), i, a.place.name, a.item.name, a.observed, None, a.expected, a.ratio, a.p_value]
        for i, a in enumerate(spots.alerts, 1)
    ]
    ws = _sheet(book, content, _("热点与苗头"), columns, data)
    _note(
        ws,
        _("苗头预警：近 7 日件数相对本区域×事项此前 56 日基线显著偏高（单侧泊松检验）。"),
    )


def _exclusions(book: Workbook, content: Content) -> None:
    columns = [
        Column(_("编号")),
        Column(_("事项")),
        Column(_("所在区域")),
        Column(_("申请单位")),
        Column(_("剔除理由")),
        Column(_("情况说明")),
        Column(_("审核人")),
        Column(_("审核时间"), MOMENT),
    ]
    listing = content.exclusions
    data = [
        [r.number, r.item, r.place, r.unit, r.reason, r.note, r.decided_by, r.decided_at]
        for r in listing.rows
    ]
    _cut_note(_sheet(book, content, _("考核剔除"), columns, data), listing.total, len(listing.rows))
