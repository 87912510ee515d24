"""Setup spreadsheets: the dry run lists every bad row, the import upserts, re-imports change nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from civicgrid.accounts.models import Post, Role, User
from civicgrid.ops import exports, imports
from civicgrid.ops.sheets import LAYOUTS, read_sheets
from civicgrid.org import refcache
from civicgrid.org.models import Building, Household, Unit
from tests.conftest import Town

Rows = Sequence[Sequence[object]]

UNITS: list[list[object]] = [
    list(LAYOUTS["units"].columns),
    ["XC-S2", "展览路街道", "镇街", "XC", "", "010-68001234", 39.93, 116.35],
    ["XC-S2-C1", "文兴街社区", "community", "XC-S2", "", "", "", ""],
    ["XC-S2-C1-G1", "文兴街一网格", "网格", "XC-S2-C1", "综合网格", "", 39.931, 116.351],
]
BUILDINGS: list[list[object]] = [
    list(LAYOUTS["buildings"].columns),
    ["B-1001", "文兴街1号楼", "文兴街1号", "XC-S2-C1-G1", 39.9311, 116.3512],
    ["B-1002", "文兴街2号楼", "文兴街2号", "XC-S2-C1-G1", "", ""],
]
HOUSEHOLDS: list[list[object]] = [
    list(LAYOUTS["households"].columns),
    ["B-1001", "1单元", "101", "刘大爷", "138 0013 8000", 1, "红色"],
    ["B-1001", "1单元", "102", "孙阿姨", "", 2, "绿色（常规）"],
    ["B-1002", "", "1户", "马先生", 13900139000, "", ""],
]
STAFF: list[list[object]] = [
    list(LAYOUTS["staff"].columns),
    ["liu", "刘网格", "13700137000", "XC-S2-C1-G1", "网格员", "代办证明；走访独居老人"],
    ["liu", "刘网格", "13700137000", "XC-S2-C1", "grid_leader", ""],
    ["wen", "文社区", "", "XC-S2-C1", "社区联络员", ""],
]
GOOD: dict[str, Rows] = {"区域": UNITS, "楼栋": BUILDINGS, "住户": HOUSEHOLDS, "人员": STAFF}


def xlsx(sheets: dict[str, Rows]) -> bytes:
    """A workbook with one sheet per name, each given as rows (the header first)."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: Rows) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def run_import(data: bytes, filename: str = "setup.xlsx", kind: str | None = None) -> imports.Report:
    checked = imports.check(read_sheets(data, filename=filename, kind=kind))
    assert [p.message for p in checked.problems] == []
    return imports.apply(checked)


def changes(report: imports.Report) -> dict[str, tuple[int, int]]:
    """(created, updated) per kind: all zeros when an import changed nothing."""
    return {key: (c["created"], c["updated"]) for key, c in report.as_dict().items()}


def table() -> dict[str, int]:
    return {
        "units": Unit.objects.count(),
        "buildings": Building.objects.count(),
        "households": Household.objects.count(),
        "users": User.objects.count(),
        "posts": Post.objects.count(),
    }


def test_it_lists_every_bad_row_with_its_sheet_row_and_reason_and_writes_nothing(town: Town) -> None:
    bad: dict[str, Rows] = {
        "区域": [
            UNITS[0],
            ["XC-S9", "好街道", "镇街", "XC", "", "", "", ""],
            ["XC-S9-C1", "无主社区", "村社区", "NOPE", "", "", "", ""],
            ["XC-S9-C2", "怪社区", "小区", "XC-S9", "", "", "", ""],
            ["XC-S9", "重复街道", "镇街", "XC", "", "", "", ""],
            ["XC-S9-G1", "坐标错", "网格", "XC-S9", "", "", "北纬30度", 116.3],
        ],
        "楼栋": [
            BUILDINGS[0],
            ["B-9001", "某楼", "", "XC-S1-C1", "", ""],
            ["B-9002", "某楼", "", "ZZ", "", ""],
        ],
        "住户": [
            HOUSEHOLDS[0],
            ["B-0001", "", "101", "甲", "138abc", 1, ""],
            ["B-0001", "", "102", "乙", "", "两", ""],
            ["B-8888", "", "101", "丙", "", 1, ""],
        ],
        "人员": [
            STAFF[0],
            ["zhang", "张三", "", "XC-S1-C1-G1", "队长", ""],
            ["zhang2", "张四", "", "NOWHERE", "网格员", ""],
        ],
    }
    before = table()

    checked = imports.check(read_sheets(xlsx(bad), filename="bad.xlsx"))

    found = [(p.sheet, p.row) for p in checked.problems]
    assert found == [
        ("区域", 3),
        ("区域", 4),
        ("区域", 5),
        ("区域", 6),
        ("楼栋", 2),
        ("楼栋", 3),
        ("住户", 2),
        ("住户", 3),
        ("住户", 4),
        ("人员", 2),
        ("人员", 3),
    ]
    messages = [p.message for p in checked.problems]
    assert "上级编码“NOPE”不存在" in messages[0]
    assert "“类型”的值“小区”无法识别" in messages[1]
    assert "重复（第 2 行已有）" in messages[2]
    assert "纬度" in messages[3] and "北纬30度" in messages[3]
    assert "不是网格" in messages[4] and "所在网格编码“ZZ”不存在" in messages[5]
    assert "电话号码" in messages[6] and "人数" in messages[7] and "楼栋编码“B-8888”不存在" in messages[8]
    assert "“岗位”的值“队长”无法识别" in messages[9] and "单位编码“NOWHERE”不存在" in messages[10]
    assert table() == before


def test_it_names_the_missing_required_columns_of_a_sheet(town: Town) -> None:
    data = csv_bytes([["楼栋编码", "单元", "房号"], ["B-0001", "", "101"]])

    checked = imports.check(read_sheets(data, filename="h.csv"))

    assert [(p.row, p.message) for p in checked.problems] == [(1, "缺少必填列：户主姓名")]


def test_it_refuses_parent_links_that_loop(town: Town) -> None:
    data = xlsx(
        {
            "units": [
                UNITS[0],
                ["L-A", "甲", "镇街", "L-B", "", "", "", ""],
                ["L-B", "乙", "镇街", "L-A", "", "", "", ""],
                ["XC-S1", "新街口街道", "镇街", "XC-S1-C1", "", "", "", ""],
            ]
        }
    )

    checked = imports.check(read_sheets(data, filename="loop.xlsx"))

    assert [p.row for p in checked.problems] == [2, 3, 4]
    assert all("成环" in p.message for p in checked.problems)
    assert "XC-S1 → XC-S1-C1 → XC-S1" in checked.problems[2].message


def test_it_imports_units_buildings_households_and_staff_with_their_posts(town: Town) -> None:
    report = run_import(xlsx(GOOD))

    assert changes(report) == {
        "units": (3, 0),
        "buildings": (2, 0),
        "households": (3, 0),
        "accounts": (2, 0),
        "posts": (3, 0),
    }
    assert report.new_accounts == 2
    grid = Unit.objects.get(code="XC-S2-C1-G1")
    assert grid.path == "/XC/XC-S2/XC-S2-C1/XC-S2-C1-G1/" and grid.category == "general"
    assert Unit.objects.get(code="XC-S2").phone == "010-68001234"
    household = Household.objects.get(building__code="B-1001", room="101")
    assert (household.phone, household.care_level, household.entrance) == ("13800138000", "red", "1单元")
    assert Household.objects.get(building__code="B-1002").phone == "13900139000"
    liu = User.objects.get(username="liu")
    assert not liu.has_usable_password() and liu.display_name == "刘网格"
    post = Post.objects.get(user=liu, role=Role.GRID_WORKER)
    assert post.unit == grid and post.duties == "代办证明；走访独居老人"


def test_it_changes_nothing_when_the_same_workbook_is_imported_again(town: Town) -> None:
    run_import(xlsx(GOOD))
    liu_password = User.objects.get(username="liu").password

    again = run_import(xlsx(GOOD))

    assert set(changes(again).values()) == {(0, 0)}
    assert again.as_dict()["households"]["unchanged"] == 3
    assert User.objects.get(username="liu").password == liu_password


@pytest.mark.parametrize(
    ("kind", "rows"),
    [("units", UNITS), ("buildings", BUILDINGS), ("households", HOUSEHOLDS), ("staff", STAFF)],
)
def test_it_changes_nothing_when_the_same_csv_is_imported_again(town: Town, kind: str, rows: Rows) -> None:
    run_import(xlsx({"区域": UNITS, "楼栋": BUILDINGS}))  # what the other kinds refer to
    data = csv_bytes(rows)
    run_import(data, filename=f"{kind}.csv")

    again = run_import(data, filename=f"{kind}.csv")

    assert read_sheets(data, filename="x.csv")[0].kind == kind  # detected from the header
    assert set(changes(again).values()) == {(0, 0)}


def test_it_rewrites_only_the_rows_that_changed(town: Town) -> None:
    run_import(xlsx(GOOD))
    edited = [list(row) for row in HOUSEHOLDS]
    edited[2][5] = 3  # 孙阿姨's household grew

    report = run_import(csv_bytes(edited), filename="h.csv")

    assert report.as_dict()["households"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert Household.objects.get(room="102").members == 3


def test_it_moves_a_subtree_to_a_parent_listed_later_in_the_same_file(town: Town) -> None:
    data = xlsx(
        {
            "区域": [
                UNITS[0],
                ["XC-S1-C1", "西里社区", "村社区", "XC-S3", "", "", "", ""],
                ["XC-S3", "新街道", "镇街", "XC", "", "", "", ""],
            ]
        }
    )

    report = run_import(data)

    assert report.as_dict()["units"] == {"created": 1, "updated": 1, "unchanged": 0}
    assert Unit.objects.get(code="XC-S1-C1-G1").path == "/XC/XC-S3/XC-S1-C1/XC-S1-C1-G1/"


@pytest.mark.usefixtures("wang", "chen", "zhao")
def test_it_round_trips_every_export_unchanged(town: Town) -> None:
    run_import(xlsx(GOOD))
    Building.objects.filter(code="B-1001").update(lat=39.931123456789012, lon=116.351987654321098)

    whole = run_import(exports.export("all", "xlsx"))
    by_kind = [run_import(exports.export(kind, "csv"), filename=f"{kind}.csv") for kind in LAYOUTS]

    assert set(changes(whole).values()) == {(0, 0)}
    assert whole.as_dict()["posts"]["unchanged"] == Post.objects.filter(active=True).count()
    assert all(set(changes(report).values()) == {(0, 0)} for report in by_kind)


def test_it_exports_exactly_the_import_columns(town: Town) -> None:
    for kind, layout in LAYOUTS.items():
        (sheet,) = read_sheets(exports.export(kind, "xlsx"), filename="x.xlsx")

        assert (sheet.kind, tuple(sheet.columns)) == (kind, layout.columns)


def test_it_reads_a_csv_saved_by_chinese_excel_in_gb18030(town: Town) -> None:
    data = "\r\n".join(",".join(map(str, row)) for row in UNITS).encode("gb18030")

    (sheet,) = read_sheets(data, filename="units.csv")

    assert sheet.kind == "units" and sheet.rows[0][1]["名称"] == "展览路街道"


def test_it_imports_from_the_command_line_after_a_dry_run(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "setup.xlsx"
    path.write_bytes(xlsx(GOOD))

    call_command("importsheet", str(path), "--dry-run")
    assert not Unit.objects.filter(code="XC-S2").exists()
    call_command("importsheet", str(path))

    out, err = capsys.readouterr()
    assert "没有发现问题（试运行，未写入）" in out and "单位：新建 3，更新 0，未变 0" in out
    assert "没有密码" in out and "导入 [" in err
    assert Unit.objects.filter(code="XC-S2-C1-G1").exists()


def test_it_stops_the_command_line_import_on_problems(town: Town, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([HOUSEHOLDS[0], ["NOPE", "", "1", "某", "", "", ""]]))

    with pytest.raises(CommandError, match="发现 1 个问题"):
        call_command("importsheet", str(path))
    assert Household.objects.count() == 0


def test_it_exports_from_the_command_line(town: Town, tmp_path: Path) -> None:
    path = tmp_path / "buildings.csv"

    call_command("exportsheet", "buildings", str(path))

    assert "B-0001,西里1号楼" in path.read_bytes().decode("utf-8-sig")
    with pytest.raises(CommandError):
        call_command("exportsheet", "all", str(tmp_path / "all.csv"))


def test_it_retires_cached_reference_data_when_a_sheet_of_bulk_writes_commits(
    town: Town, django_capture_on_commit_callbacks: Any
) -> None:
    run_import(xlsx(GOOD))
    edited = [list(row) for row in STAFF]
    edited[1][5] = "代办证明"  # only a post's duties change: a bulk update, no post_save
    refcache.retire_all()
    before = cache.get(refcache.VERSION_KEY)

    with django_capture_on_commit_callbacks(execute=True):
        report = run_import(csv_bytes(edited), filename="staff.csv")

    assert report.as_dict()["posts"]["updated"] == 1
    assert cache.get(refcache.VERSION_KEY) != before
