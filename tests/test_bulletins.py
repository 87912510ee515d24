"""Bulletins 通报: each section's content on a small history, the xlsx and HTML files, the command."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from openpyxl import load_workbook
from pytest_django.fixtures import Settings as SettingsWrapper

from civicgrid.accounts.models import User
from civicgrid.analytics import rollups
from civicgrid.analytics.bulletins import content, periods, services
from civicgrid.analytics.bulletins.html import page
from civicgrid.analytics.bulletins.xlsx import workbook
from civicgrid.analytics.figures import Group, assemble, figures
from civicgrid.analytics.metrics import Ratio
from civicgrid.analytics.models import Bulletin
from civicgrid.cases import services as cases
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case
from civicgrid.cases.services.exclusions import case_exclude, case_request_exclusion
from tests.conftest import CaseMaker, Town, at

Clock = Callable[[str], None]


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Move the frozen clock to 'YYYY-MM-DD HH:MM' (Asia/Shanghai)."""
    traveller = time_machine.travel(at("2026-10-12 09:00"), tick=False)
    shift = traveller.start()
    yield lambda text: shift.move_to(at(text))
    traveller.stop()


def fold() -> None:
    """What the worker does: fold every changed case into the rollups."""
    while rollups.refresh():
        pass


@pytest.fixture
def october(
    new_case: CaseMaker,
    centre: User,
    chen: User,
    zhao: User,
    supervisor: User,
    town: Town,
    clock: Clock,
) -> list[Case]:
    """October in 西城区: on Monday the 12th three cases go to 城管局 (two in 西里一网格, one in
    东里一网格); the first is resolved on the 14th and rated satisfied; the second is supervised on
    the 22nd and is still open; the third is resolved only on 3 November. A fourth case, in 西里一网格,
    is excluded on the 20th."""
    handled = []
    for place in (town.grid, town.grid, town.far_grid):
        clock("2026-10-12 09:00")
        case = new_case(place=place, building=None)
        cases.case_accept(case=case, actor=centre)
        cases.case_dispatch(case=case, actor=centre, lead=town.urban)
        handled.append(cases.case_acknowledge(case=case, actor=chen))
    clock("2026-10-14 10:00")
    cases.case_resolve(case=handled[0], actor=chen, result="已劝离摊贩")
    clock("2026-10-15 10:00")
    cases.case_evaluate(case=handled[0], actor=centre, satisfaction="satisfied", solved=True)
    clock("2026-10-19 09:00")
    junk = cases.case_accept(case=new_case(place=town.grid, building=None), actor=centre)
    case_request_exclusion(case=junk, actor=zhao, reason="malicious", note="同一人反复恶意来电")
    clock("2026-10-20 09:00")
    case_exclude(case=Case.objects.get(pk=junk.pk), actor=supervisor, note="核实属实")
    clock("2026-10-22 09:00")
    cases.case_supervise(case=Case.objects.get(pk=handled[1].pk), actor=supervisor, note="请加快办理")
    clock("2026-11-03 10:00")
    cases.case_resolve(case=Case.objects.get(pk=handled[2].pk), actor=chen, result="已处理")
    clock("2026-11-05 08:00")
    fold()
    return handled


def month(town: Town) -> content.Content:
    return services.content_of(services.checked(code=town.district.code, period="2026-10", fmt="xlsx"))


# --- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "previous"),
    [
        ("2026-10-12", "daily", date(2026, 10, 12), date(2026, 10, 13), "2026-10-11"),
        ("2026-W42", "weekly", date(2026, 10, 12), date(2026, 10, 19), "2026-W41"),
        ("2026-10", "monthly", date(2026, 10, 1), date(2026, 11, 1), "2026-09"),
        ("2027-W01", "weekly", date(2027, 1, 4), date(2027, 1, 11), "2026-W53"),
    ],
)
def test_it_reads_the_three_forms_of_period(
    text: str, kind: str, start: date, end: date, previous: str
) -> None:
    found = periods.parse(text)

    assert (found.kind, found.label, found.start, found.end) == (kind, text, start, end)
    assert found.previous().label == previous


@pytest.mark.parametrize("text", ["2026-13", "2026-W54", "2026-10-32", "last month", "2026/10", ""])
def test_it_refuses_a_period_it_cannot_read(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        periods.parse(text)

    assert raised.value.field == "period" and "无法识别" in raised.value.message


def test_it_releases_each_period_at_the_set_hour_after_it_ends() -> None:
    before, after = at("2026-11-02 05:59"), at("2026-11-02 06:00")  # a Monday

    assert periods.latest_released("daily", now=before, hour=6).label == "2026-10-31"
    assert periods.latest_released("daily", now=after, hour=6).label == "2026-11-01"
    assert periods.latest_released("weekly", now=before, hour=6).label == "2026-W43"
    assert periods.latest_released("weekly", now=after, hour=6).label == "2026-W44"
    assert periods.latest_released("monthly", now=at("2026-11-01 05:00"), hour=6).label == "2026-09"
    assert periods.latest_released("monthly", now=after, hour=6).label == "2026-10"


# --- sections ------------------------------------------------------------------------------------


def test_it_sums_up_the_month_beside_the_month_before(october: list[Case], town: Town) -> None:
    lines = {line.name: line for line in month(town).overview}

    assert (lines["accepted"].current, lines["accepted"].previous) == (3, 0)
    assert (lines["due"].current, lines["overdue"].current) == (3, 2)
    assert lines["closure_rate"].current == Ratio(1, 3)
    assert lines["on_time_rate"].current == Ratio(1, 3)
    assert lines["satisfaction"].current == Ratio(1, 1)
    assert lines["participation"].current == Ratio(1, 1)
    assert lines["response_rate"].current == Ratio(3, 3)
    assert lines["closure_rate"].change is None  # nothing was due in September
    assert lines["accepted"].change == 3


def test_it_ranks_the_streets_and_the_departments_of_the_district(october: list[Case], town: Town) -> None:
    found = month(town)

    assert [(r.rank, r.code, r.figures.accepted) for r in found.areas] == [(1, "XC-S1", 3)]
    assert [(r.rank, r.code, r.figures.accepted, r.figures.overdue) for r in found.departments] == [
        (1, "D-CG", 3, 2),
        (2, "D-SW", 0, 0),  # a department with nothing this month is still named
    ]


def test_it_ranks_the_communities_of_a_street_for_the_week(october: list[Case], town: Town) -> None:
    week = services.content_of(services.checked(code=town.street.code, period="2026-W42", fmt="html"))

    assert [(r.rank, r.label, r.figures.accepted) for r in week.areas] == [
        (1, "西里社区", 2),  # its resolution on the 14th gives it an on-time rate; 东里 has none
        (2, "东里社区", 1),
    ]
    assert week.departments == []


def test_it_ranks_ties_together_and_a_unit_without_a_rate_last() -> None:
    def group(code: str, on_time: int, due: int, accepted: int = 1) -> Group:
        counters = {"due": due, "on_time": on_time, "accepted": accepted}
        return Group(code, code, assemble(counters, overdue=0))

    found = content.ranked([group("D", 0, 0), group("C", 0, 2), group("A", 1, 2), group("B", 2, 4)])

    assert [(r.rank, r.code) for r in found] == [(1, "A"), (1, "B"), (3, "C"), (4, "D")]


def test_it_breaks_the_cases_down_by_domain_and_item(october: list[Case], town: Town) -> None:
    found = month(town)

    assert [(r.label, r.figures.accepted, r.share) for r in found.domains] == [("综合执法", 3, Ratio(3, 3))]
    assert [(r.code, r.figures.accepted) for r in found.items] == [("ZHZF-301", 3)]


def test_it_lists_the_cases_overdue_at_the_end_of_the_month(october: list[Case], town: Town) -> None:
    found = month(town).overdue
    late = sorted(october[1:], key=lambda c: (c.resolve_by, c.number))

    assert (
        found.total
        == 2
        == figures(start=date(2026, 10, 1), end=date(2026, 11, 1), place=town.district).total.overdue
    )
    assert [(r.number, r.item, r.place, r.handler) for r in found.rows] == [
        (late[0].number, "占道经营", late[0].place.name, "城管局"),
        (late[1].number, "占道经营", late[1].place.name, "城管局"),
    ]
    assert all(r.days >= 1 for r in found.rows)


def test_it_lists_the_cases_supervised_in_the_period(october: list[Case], town: Town) -> None:
    found = month(town).supervised

    assert found.total == 1
    row = found.rows[0]
    assert (row.number, row.level, row.times, row.first) == (
        october[1].number,
        "黄色督办",
        1,
        at("2026-10-22 09:00"),
    )


def test_it_lists_the_exclusions_approved_in_the_period(october: list[Case], town: Town) -> None:
    found = month(town).exclusions

    assert found.total == 1
    assert (found.rows[0].reason, found.rows[0].unit, found.rows[0].decided_at) == (
        "恶意诉求",
        "西里社区",
        at("2026-10-20 09:00"),
    )


def test_it_names_the_hot_spots_of_the_month(october: list[Case], town: Town) -> None:
    spots = month(town).hotspots

    assert [(r.label, r.count) for r in spots.places.rows] == [("新街口街道", 3)]
    assert [(r.label, r.count) for r in spots.items.rows] == [("占道经营", 3)]
    assert spots.alerts == []


def test_it_cuts_long_lists_and_keeps_their_count(
    october: list[Case], town: Town, settings: SettingsWrapper
) -> None:
    settings.BULLETINS = {**settings.BULLETINS, "list_limit": 1}

    found = month(town).overdue

    assert (found.total, len(found.rows)) == (2, 1)


# --- files ---------------------------------------------------------------------------------------


def test_it_writes_a_workbook_with_a_sheet_per_section(october: list[Case], town: Town) -> None:
    book = load_workbook(io.BytesIO(workbook(month(town))))

    assert book.sheetnames == [
        "概况",
        "街道排名",
        "部门排名",
        "领域分析",
        "事项分析",
        "超期件",
        "督办件",
        "热点与苗头",
        "考核剔除",
    ]
    overview = book["概况"]
    rows = {row[0].value: row for row in overview.iter_rows(min_row=2, max_row=15)}
    assert [c.value for c in overview[1]] == ["指标", "本期", "上期", "变化", "本期分子", "本期分母"]
    assert (rows["受理量"][1].value, rows["超期"][1].value) == (3, 2)
    closure = rows["办结率"][1]
    assert closure.value == pytest.approx(0.3333) and closure.number_format == "0.00%"
    assert rows["办结率"][2].value == "—"
    assert overview.freeze_panes == "A2"
    assert str(overview.page_setup.paperSize) == overview.PAPERSIZE_A4
    assert overview.print_title_rows == "$1:$1"
    late = book["超期件"]
    assert [c.value for c in late[1]] == ["编号", "事项", "所在区域", "承办单位", "办结时限", "超期天数"]
    assert late["A2"].value == sorted(october[1:], key=lambda c: (c.resolve_by, c.number))[0].number
    assert late.column_dimensions["B"].width >= 8


def test_it_writes_a_printable_page_with_rates_to_two_decimals(october: list[Case], town: Town) -> None:
    html = page(month(town)).decode("utf-8")

    assert "<title>西城区月度通报（2026年10月）</title>" in html
    assert "33.33%" in html and "100.00%" in html
    assert "本期共受理诉求 3 件" in html
    assert "@page" in html and "size: A4" in html and "counter(page)" in html
    assert "display: table-header-group" in html
    assert "<script" not in html
    assert october[1].number in html and "黄色督办" in html and "恶意诉求" in html


# --- storing and the command ---------------------------------------------------------------------


def test_it_stores_a_bulletin_and_replaces_its_file_when_generated_again(
    october: list[Case], town: Town, django_capture_on_commit_callbacks: Any
) -> None:
    wanted = services.checked(code="XC", period="2026-10", fmt="html")
    first = services.bulletin_generate(request=wanted)
    old = first.file.name or ""

    with django_capture_on_commit_callbacks(execute=True):
        second = services.bulletin_generate(request=wanted)

    assert Bulletin.objects.count() == 1 and second.pk == first.pk
    assert second.file.name != old and not second.file.storage.exists(old)
    assert second.file.read().decode("utf-8").count("33.33%") >= 1
    assert (second.kind, second.period, second.start, second.end) == (
        "monthly",
        "2026-10",
        date(2026, 10, 1),
        date(2026, 11, 1),
    )
    assert second.size == len(second.file.open("rb").read()) and len(second.sha256) == 64


@pytest.mark.parametrize(
    ("unit", "period", "kind"),
    [("XC-S1-C1", "2026-10-12", "daily"), ("XC-S1", "2026-W42", "weekly"), ("XC", "2026-10", "monthly")],
)
def test_the_command_generates_each_kind(
    october: list[Case], unit: str, period: str, kind: str, tmp_path: Path
) -> None:
    out = io.StringIO()

    call_command(
        "bulletin", unit=unit, period=period, fmt="xlsx", output=str(tmp_path), refresh=True, stdout=out
    )

    row = Bulletin.objects.get()
    assert (row.unit.code, row.kind, row.period, row.format, row.generated_by) == (
        unit,
        kind,
        period,
        "xlsx",
        None,
    )
    written = tmp_path / services.file_name(row)
    assert written.read_bytes()[:2] == b"PK" and "已生成" in out.getvalue()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"unit": "NOPE", "period": "2026-10"}, "未知单位编码"),
        ({"unit": "XC", "period": "2026-10-12"}, "区出月度通报"),
        ({"unit": "XC-S1-C1-G1", "period": "2026-10-12"}, "不出通报"),
        ({"unit": "XC", "period": "October"}, "无法识别"),
        ({"unit": "XC", "period": "2026-10", "fmt": "pdf"}, "格式须为 xlsx 或 html"),
        ({"unit": "XC", "period": "2026-11"}, "尚未结束"),
        ({"unit": "XC", "period": "2026-10", "output": "/no/such/dir/x.xlsx"}, "输出目录不存在"),
    ],
)
def test_the_command_refuses_bad_input_in_chinese_and_stores_nothing(
    october: list[Case], options: dict[str, str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("bulletin", **{"fmt": "xlsx", **options})

    assert not Bulletin.objects.exists()
