"""The bulletin as a standalone printable HTML page (A4, Chinese typesetting), from a Django template.

The page carries its own styles and no script, so the stored file prints the same anywhere; every
figure is formatted here, rates as percentages to two decimals (96.16%).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.analytics.bulletins.content import Content, Line, Ranked, Share
from civicgrid.analytics.bulletins.xlsx import figure_cells
from civicgrid.analytics.metrics import Ratio
from civicgrid.org.models import Unit

NONE = "—"
NUMERALS = "一二三四五六七八九十"
TEMPLATE = "analytics/bulletin.html"


def percent(ratio: Ratio) -> str:
    """96.16% (two decimals, as the seeds quote them); — when there is nothing to divide by."""
    rate = ratio.rate
    return NONE if rate is None else f"{rate * 100:.2f}%"


def count(value: int) -> str:
    return f"{value:,}"


def moment(value: datetime) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def shown(value: object) -> str:
    """Any cell of a table as text."""
    if isinstance(value, Ratio):
        return percent(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return count(value)
    if isinstance(value, datetime):
        return moment(value)
    return "" if value is None else str(value)


def change(line: Line) -> str:
    """+1.23 个百分点 for a rate, +12 件 for a count; — when a side has no rate."""
    delta = line.change
    if delta is None:
        return NONE
    if isinstance(line.current, Ratio):
        return _("%(sign)s%(value).2f 个百分点") % {
            "sign": "+" if delta > 0 else "",
            "value": Decimal(delta) * 100,
        }
    return _("%(sign)s%(value)s") % {"sign": "+" if delta > 0 else "", "value": count(int(delta))}


@dataclass(frozen=True)
class Table:
    """A section's table as text: a header and rows, with a note under it."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric_from: int = 0  # columns from this one on are right-aligned figures


FIGURE_HEADER = [
    "受理量",
    "应办结",
    "办结率",
    "按期办结率",
    "满意率",
    "满意率（加权）",
    "参评率",
    "解决率",
    "响应率",
    "超期",
]


def _figures_header() -> list[str]:
    return [_(name) for name in FIGURE_HEADER]


def _ranking(title: str, rows: list[Ranked]) -> Table:
    header = [_("排名"), _("名称"), *_figures_header()]
    body = [[NONE if r.rank is None else str(r.rank), r.label, *map(shown, figure_cells(r))] for r in rows]
    return Table(title, header, body, numeric_from=2)


def _shares(title: str, name: str, rows: list[Share]) -> Table:
    header = [name, _("占比"), *_figures_header()]
    return Table(
        title,
        header,
        [[r.label, percent(r.share), *map(shown, figure_cells(r))] for r in rows],
        numeric_from=1,
    )


def _cut(total: int, shown_rows: int) -> str:
    if total > shown_rows:
        return _("共 %(total)s 件，列出前 %(shown)s 件。") % {
            "total": count(total),
            "shown": count(shown_rows),
        }
    return _("共 %(total)s 件。") % {"total": count(total)}


def tables(content: Content) -> list[Table]:
    """Every section after the overview, in the workbook's order."""
    below = {
        Unit.Kind.DISTRICT: _("街道排名"),
        Unit.Kind.STREET: _("社区排名"),
        Unit.Kind.COMMUNITY: _("网格排名"),
    }
    out = [_ranking(below.get(content.unit.kind, _("区域排名")), content.areas)]  # type: ignore[call-overload]
    if content.departments:
        out.append(_ranking(_("部门排名"), content.departments))
    out += [
        _shares(_("领域分析"), _("领域"), content.domains),
        _shares(_("事项分析"), _("事项"), content.items),
    ]
    out += [_overdue(content), _supervised(content), *_hotspots(content), _exclusions(content)]
    return out


def _overdue(content: Content) -> Table:
    header = [_("编号"), _("事项"), _("所在区域"), _("承办单位"), _("办结时限"), _("超期天数")]
    listing = content.overdue
    rows = [[r.number, r.item, r.place, r.handler, moment(r.deadline), count(r.days)] for r in listing.rows]
    return Table(_("超期件"), header, rows, _cut(listing.total, len(rows)), numeric_from=5)


def _supervised(content: Content) -> Table:
    header = [
        _("编号"),
        _("事项"),
        _("所在区域"),
        _("承办单位"),
        _("督办等级"),
        _("本期次数"),
        _("首次督办"),
        _("最近督办"),
    ]
    listing = content.supervised
    rows = [
        [r.number, r.item, r.place, r.handler, r.level, count(r.times), moment(r.first), moment(r.last)]
        for r in listing.rows
    ]
    return Table(_("督办件"), header, rows, _cut(listing.total, len(rows)), numeric_from=5)


def _hotspots(content: Content) -> list[Table]:
    spots = content.hotspots
    top = [_("名次"), _("名称"), _("件数"), _("占比")]
    places = [[str(i), r.label, count(r.count), percent(r.share)] for i, r in enumerate(spots.places.rows, 1)]
    items = [[str(i), r.label, count(r.count), percent(r.share)] for i, r in enumerate(spots.items.rows, 1)]
    alerts = [
        [
            a.place.name,
            a.item.name,
            count(a.observed),
            f"{a.expected:.2f}",
            f"{a.ratio:.2f}",
            f"{a.p_value:.4f}",
        ]
        for a in spots.alerts
    ]
    header = [_("区域"), _("事项"), _("近 7 日件数"), _("基线预期"), _("倍数"), _("P 值")]
    note = _("近 7 日件数相对本区域×事项此前 56 日的基线显著偏高（单侧泊松检验）。")
    return [
        Table(_("热点区域"), top, places, numeric_from=2),
        Table(_("热点事项"), top, items, numeric_from=2),
        Table(_("苗头预警"), header, alerts, note if alerts else _("本期无苗头预警。"), numeric_from=2),
    ]


def _exclusions(content: Content) -> Table:
    header = [
        _("编号"),
        _("事项"),
        _("所在区域"),
        _("申请单位"),
        _("剔除理由"),
        _("情况说明"),
        _("审核人"),
        _("审核时间"),
    ]
    listing = content.exclusions
    rows = [
        [r.number, r.item, r.place, r.unit, r.reason, r.note, r.decided_by, moment(r.decided_at)]
        for r in listing.rows
    ]
    return Table(_("考核剔除"), header, rows, _cut(listing.total, len(rows)), numeric_from=99)


def _overview(content: Content) -> list[dict[str, str]]:
    return [
        {
            "label": line.label,
            "current": shown(line.current),
            "previous": shown(line.previous),
            "change": change(line),
        }
        for line in content.overview
    ]


def _summary(content: Content) -> str:
    """The 通报's opening sentence, with the headline figures."""
    by = {line.name: line for line in content.overview}

    def pick(name: str) -> str:
        return shown(by[name].current)

    return _(
        "本期共受理诉求 %(accepted)s 件，应办结 %(due)s 件，办结率 %(closure)s，按期办结率 %(on_time)s，"
        "满意率 %(satisfaction)s，期末超期 %(overdue)s 件。"
    ) % {
        "accepted": pick("accepted"),
        "due": pick("due"),
        "closure": pick("closure_rate"),
        "on_time": pick("on_time_rate"),
        "satisfaction": pick("satisfaction"),
        "overdue": pick("overdue"),
    }


def _numeral(n: int) -> str:
    """1–19 in Chinese numerals: 二, 十, 十一."""
    if n <= 10:
        return NUMERALS[n - 1]
    return "十" + NUMERALS[n - 11]


def page(content: Content) -> bytes:
    """The printable page as UTF-8 bytes."""
    context = {
        "title": content.title,
        "period": content.period,
        "unit": content.unit,
        "generated_at": moment(content.generated_at),
        "summary": _summary(content),
        "overview": _overview(content),
        "previous": content.period.previous(),
        # Sections are numbered 二、三… after the overview (一、总体情况), as a 通报 is.
        "tables": [(_numeral(i), t) for i, t in enumerate(tables(content), start=2)],
    }
    return render_to_string(TEMPLATE, context).encode("utf-8")
