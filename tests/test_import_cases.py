"""Case history import: every bad row reported, histories true to their status, re-runs change nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.db import DatabaseError
from django.utils import timezone

from civicgrid.analytics import rollups
from civicgrid.analytics.figures import figures
from civicgrid.analytics.models import StaleCase
from civicgrid.cases.models import Assignment, Case, DailyCounter, Evaluation, Event
from civicgrid.ops.import_cases import write
from civicgrid.ops.models import ImportedCase
from civicgrid.org.models import Unit
from tests.conftest import Town

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "import-cases.example.json"
# A closed, satisfied case; each test's rows change what they need.
BASE = {
    "工单编号": "GD-001",
    "登记时间": "2024-03-04 09:00:00",
    "受理时间": "2024-03-04 09:10",
    "派单时间": "2024-03-04 09:30",
    "签收时间": "2024-03-04 10:00",
    "办结时间": "2024-03-06 16:00",
    "回访时间": "2024-03-07 10:00",
    "结案时间": "",
    "办结时限": "",
    "工单状态": "已办结",
    "诉求类型": "投诉",
    "来源渠道": "12345热线",
    "所属网格": "西里一网格",
    "承办单位": "区城管局",
    "事项编码": "ZHZF-301",
    "标题": "占道经营",
    "诉求内容": "西里路口有流动摊贩占道经营",
    "地址": "西里1号",
    "诉求人": "刘先生",
    "联系电话": "138 0013 8000",
    "满意度": "满意",
    "是否解决": "已解决",
    "回访意见": "处理及时",
    "办理结果": "已劝离",
    "退回原因": "",
}
UNHANDLED = {"派单时间": "", "签收时间": "", "办结时间": "", "回访时间": "", "满意度": "", "是否解决": ""}
# One row per status (not in time order: numbers must follow the time each case came in).
HISTORIES: list[dict[str, str]] = [
    {"工单编号": "GD-001"},
    {"工单编号": "GD-002", "登记时间": "2024-03-04 08:00", "工单状态": "办理中", **UNHANDLED,
     "受理时间": "2024-03-04 08:10", "派单时间": "2024-03-04 08:30", "签收时间": "2024-03-05 11:00"},
    {"工单编号": "GD-003", "登记时间": "2024-03-04 08:10", "工单状态": "已派单", **UNHANDLED},
    {"工单编号": "GD-004", "工单状态": "已办结", "满意度": "不满意", "是否解决": "未解决",
     "结案时间": "2024-03-08 09:00", "办结时限": "2024-03-05 18:00:00"},
    {"工单编号": "GD-005", "工单状态": "待回访", "满意度": "未评价", "是否解决": "", "回访时间": ""},
    {"工单编号": "GD-006", "工单状态": "不予受理", **UNHANDLED, "受理时间": "",
     "结案时间": "2024-03-04 09:20", "退回原因": "不属于受理范围"},
    {"工单编号": "GD-007", "工单状态": "已办结", "承办单位": "", "派单时间": "", "签收时间": "",
     "满意度": "未评价", "是否解决": "", "回访时间": "", "结案时间": "2024-03-06 17:00"},
    {"工单编号": "GD-008", "工单状态": "已撤单", **UNHANDLED, "派单时间": "2024-03-04 09:30",
     "结案时间": "2024-03-04 12:00", "退回原因": "群众撤回"},
    {"工单编号": "GD-009", "登记时间": "2024-03-05 07:00", "工单状态": "待受理", **UNHANDLED, "受理时间": ""},
]  # fmt: skip


def rows(*changes: dict[str, str]) -> list[dict[str, str]]:
    return [{**BASE, **change} for change in changes]


def csv_file(path: Path, table: list[dict[str, str]], encoding: str = "utf-8-sig") -> Path:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(BASE))
    writer.writeheader()
    writer.writerows(table)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def run(path: Path, *args: str, mapping: Path = EXAMPLE) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import-cases", str(path), "--mapping", str(mapping), *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{out.getvalue()}") from exc
    return out.getvalue(), err.getvalue()


def failing(path: Path, *args: str, mapping: Path = EXAMPLE) -> str:
    with pytest.raises(CommandError) as raised:
        run(path, *args, mapping=mapping)
    return str(raised.value)


def local(moment: Any) -> str:
    return f"{timezone.localtime(moment):%m-%d %H:%M}"


def timeline(external_id: str) -> list[tuple[str, str, str]]:
    case = ImportedCase.objects.get(external_id=external_id).case
    return [(e.action, e.to_status, local(e.at)) for e in case.events.order_by("seq")]


def written() -> dict[str, int]:
    models = (Case, Event, Assignment, Evaluation, ImportedCase, DailyCounter)
    return {model.__name__: model.objects.count() for model in models}


def test_it_documents_the_example_mapping_as_it_is() -> None:
    text = EXAMPLE.with_name("import-cases.md").read_text(encoding="utf-8")
    shown = json.loads(text.split("```json")[1].split("```")[0])
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))

    assert {**shown, "_about": ""} == {**example, "_about": ""}


def test_it_finds_the_command_by_its_hyphenated_name() -> None:
    assert get_commands()["import-cases"] == "civicgrid.ops"


def test_it_imports_each_status_with_the_events_that_lead_to_it(town: Town, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "gd.csv", rows(*HISTORIES))

    out, _err = run(path)

    assert "新建 9，未变 0" in out
    assert timeline("GD-001") == [
        ("create", "submitted", "03-04 09:00"),
        ("accept", "accepted", "03-04 09:10"),
        ("dispatch", "dispatched", "03-04 09:30"),
        ("acknowledge", "in_progress", "03-04 10:00"),
        ("resolve", "resolved", "03-06 16:00"),
        ("evaluate", "closed", "03-07 10:00"),
    ]
    assert [step[0] for step in timeline("GD-002")] == ["create", "accept", "dispatch", "acknowledge"]
    assert [step[0] for step in timeline("GD-003")] == ["create", "accept", "dispatch"]
    assert timeline("GD-004")[-2:] == [
        ("evaluate", "resolved", "03-07 10:00"),
        ("close", "closed", "03-08 09:00"),
    ]
    assert [step[0] for step in timeline("GD-005")][-1] == "resolve"
    assert timeline("GD-006") == [
        ("create", "submitted", "03-04 09:00"),
        ("reject", "rejected", "03-04 09:20"),
    ]
    assert [step[0] for step in timeline("GD-007")] == ["create", "accept", "resolve", "close"]
    assert [step[0] for step in timeline("GD-008")] == ["create", "accept", "dispatch", "withdraw"]
    assert timeline("GD-009") == [("create", "submitted", "03-05 07:00")]
    assert "3 件导入的诉求仍在办理中" in out  # dispatched, in progress, resolved: for the clock


def test_it_records_the_fields_deadlines_and_assignment_a_history_leaves(town: Town, tmp_path: Path) -> None:
    run(csv_file(tmp_path / "gd.csv", rows(*HISTORIES)))

    case = ImportedCase.objects.get(external_id="GD-001").case
    lead = case.assignments.get()
    assert (case.status, case.owner, case.item, case.place) == ("closed", town.urban, town.item, town.grid)
    assert (case.kind, case.channel, case.reporter_phone, case.version, case.last_seq) == (
        "complaint", "hotline", "13800138000", 6, 6
    )  # fmt: skip
    # 7 working days after Monday 4 March 2024, to the end of the 7th: 24:00 of Wednesday 13 March.
    assert local(case.resolve_by) == "03-14 00:00" and local(case.closed_at) == "03-07 10:00"
    assert (lead.unit, lead.status, lead.active, local(lead.respond_by)) == (
        town.urban, "resolved", True, "03-05 09:30"
    )  # fmt: skip
    assert (local(lead.acknowledged_at), local(lead.ended_at)) == ("03-04 10:00", "03-06 16:00")
    assert all(e.actor is None and e.data["imported"] == "old-12345" for e in case.events.all())


def test_it_records_ratings_reviews_and_on_the_spot_handling(town: Town, tmp_path: Path) -> None:
    run(csv_file(tmp_path / "gd.csv", rows(*HISTORIES)))

    rated = Evaluation.objects.get(case=ImportedCase.objects.get(external_id="GD-001").case)
    unhappy = ImportedCase.objects.get(external_id="GD-004").case
    on_the_spot = ImportedCase.objects.get(external_id="GD-007").case
    assert (rated.satisfaction, rated.solved, rated.channel, rated.resolution_seq) == (
        "satisfied", True, "callback", 5
    )  # fmt: skip
    assert unhappy.evaluations.get().satisfaction == "dissatisfied" and unhappy.review_requested_at is None
    assert local(unhappy.resolve_by) == "03-05 18:00"  # the file's own deadline wins
    assert on_the_spot.assignments.get().unit == town.grid and on_the_spot.owner == town.grid
    assert on_the_spot.events.get(action="resolve").data["on_the_spot"] is True
    assert not Evaluation.objects.filter(case__in=[on_the_spot]).exists()


def test_it_numbers_cases_by_their_day_in_the_order_they_came_in(town: Town, tmp_path: Path) -> None:
    DailyCounter.objects.create(day=date(2024, 3, 4), value=41)  # the new system already ran that day

    run(csv_file(tmp_path / "gd.csv", rows(*HISTORIES)))

    numbers = {i.external_id: i.case.number for i in ImportedCase.objects.select_related("case")}
    assert numbers["GD-002"] == "20240304-000042"  # 08:00, the earliest
    assert numbers["GD-003"] == "20240304-000043"
    assert numbers["GD-009"] == "20240305-000001"


def test_it_changes_nothing_when_the_same_file_is_imported_again(town: Town, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "gd.csv", rows(*HISTORIES))
    run(path)
    before = written()

    out, _err = run(path)

    assert "新建 0，未变 9，已变化未更新 0" in out
    assert written() == before


def test_it_never_overwrites_a_case_whose_row_changed_since(town: Town, tmp_path: Path) -> None:
    run(csv_file(tmp_path / "gd.csv", rows({"工单编号": "GD-001"}, {"工单编号": "GD-002"})))

    out, _err = run(
        csv_file(
            tmp_path / "gd.csv", rows({"工单编号": "GD-001", "诉求内容": "改过"}, {"工单编号": "GD-002"})
        )
    )

    assert "第 2 行：该编号已导入过，但内容与当时不同" in out
    assert "新建 0，未变 1，已变化未更新 1" in out
    assert ImportedCase.objects.get(external_id="GD-001").case.description == BASE["诉求内容"]


BAD = [
    {"工单编号": "GD-101"},
    {"工单编号": "GD-102", "登记时间": "2024-02-30 10:00"},
    {"工单编号": "GD-103", "所属网格": "火星网格"},
    {"工单编号": "GD-104", "事项编码": "NOPE-1"},
    {"工单编号": "GD-105", "工单状态": "挂起"},
    {"工单编号": "GD-101"},
    {"工单编号": "GD-107", "办结时间": "2024-03-04 09:59"},
    {"工单编号": "GD-108", "所属网格": "城管局"},
    {"工单编号": "GD-109", "办结时间": ""},
    {"工单编号": "GD-110", "工单状态": "办理中", "办结时间": ""},
    {"工单编号": "GD-111", "诉求内容": "", "承办单位": "区园林局"},
]
EXPECTED = [
    "第 3 行，列“登记时间”：“2024-02-30 10:00”不是有效的时间",
    "第 4 行，列“所属网格”：单位“火星网格”不存在",
    "第 5 行，列“事项编码”：事项“NOPE-1”不存在",
    "第 6 行，列“工单状态”：“挂起”无法识别",
    "映射的 values 中有：待受理、已受理、已派单、办理中、待回访、已办结、不予受理、已撤单",
    "第 7 行，列“工单编号”：外部编号“GD-101”在本文件中重复（第 2 行已有）",
    "第 8 行，列“办结时间”：时间 2024-03-04 09:59 早于前一步骤（签收时间）的 2024-03-04 10:00",
    "第 9 行，列“所属网格”：“城管局”是职能部门",
    "第 10 行，列“办结时间”：状态为“已归档”的诉求须有办结时间",
    "第 11 行，列“满意度”：状态为“办理中”的诉求尚未办结，不能有评价",
    "第 12 行，列“承办单位”：单位“区园林局”不存在",
    "第 12 行，列“诉求内容”：不能为空",
]


def test_it_reports_every_bad_row_in_a_dry_run_and_writes_nothing(town: Town, tmp_path: Path) -> None:
    error = failing(csv_file(tmp_path / "bad.csv", rows(*BAD)), "--dry-run")

    for line in EXPECTED:
        assert line in error
    assert "10 行有问题（共 11 处），未写入任何数据" in error
    assert set(written().values()) == {0}


def test_it_writes_nothing_of_a_file_with_one_bad_row(town: Town, tmp_path: Path) -> None:
    error = failing(csv_file(tmp_path / "bad.csv", rows(*BAD)))

    assert "未写入任何数据" in error and set(written().values()) == {0}


def test_it_imports_the_good_rows_and_reports_the_bad_with_skip_bad(town: Town, tmp_path: Path) -> None:
    out, _err = run(csv_file(tmp_path / "bad.csv", rows(*BAD)), "--skip-bad")

    assert all(line in out for line in EXPECTED)
    assert "新建 1，未变 0，已变化未更新 0，跳过 10" in out
    assert list(ImportedCase.objects.values_list("external_id", flat=True)) == ["GD-101"]


def test_it_writes_nothing_in_a_clean_dry_run(town: Town, tmp_path: Path) -> None:
    out, err = run(csv_file(tmp_path / "gd.csv", rows(*HISTORIES)), "--dry-run")

    assert "新建 9" in out and "试运行，未写入" in out
    assert "校验 [" in err and set(written().values()) == {0}


def test_it_shows_its_progress_on_stderr(town: Town, tmp_path: Path) -> None:
    _out, err = run(csv_file(tmp_path / "gd.csv", rows(*HISTORIES)))

    assert "校验 [##############################] 9/9" in err and "导入 [" in err


def test_it_reads_a_gbk_file_saved_by_chinese_excel(town: Town, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "gbk.csv", rows(*HISTORIES), encoding="gbk")

    assert "请加 --encoding gbk" in failing(path)
    out, _err = run(path, "--encoding", "gbk")

    assert "新建 9" in out
    assert ImportedCase.objects.get(external_id="GD-001").case.description == BASE["诉求内容"]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"x", ("--encoding", "latin-1"), "不支持的编码“latin-1”：请用 utf-8 或 gbk"),
        ('工单编号,登记时间\n"GD-1,2024'.encode(), (), "CSV 文件格式有误（第 2 行）"),
        ("工单编号,状态\nGD-1,已办结\n".encode(), (), "CSV 文件中没有映射所指的列："),
        ("工单编号\n".encode(), (), "文件中没有数据行"),
        (b"PK\x03\x04rest", (), "这是 Excel 工作簿（.xlsx），不是 CSV"),
    ],
    ids=["encoding", "broken-quote", "missing-column", "no-rows", "xlsx"],
)
def test_it_refuses_a_file_it_cannot_read(
    town: Town, tmp_path: Path, content: bytes, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)

    assert message in failing(path, *args)
    assert set(written().values()) == {0}


def test_it_reports_a_row_with_more_cells_than_the_header(town: Town, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "gd.csv", rows({"工单编号": "GD-001"}))
    path.write_bytes(path.read_bytes() + "GD-002,多,出,来\n".encode() + ",".join(["x"] * 30).encode())

    error = failing(path, "--dry-run")

    assert "第 4 行：本行有 30 个单元格，多于表头的 25 列" in error


def example(**changes: Any) -> dict[str, Any]:
    mapping: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for name, spec in changes.items():
        if spec is None:
            del mapping["fields"][name]
        else:
            mapping["fields"][name] = spec
    return mapping


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("{ 'fields': ", "映射文件不是有效的 JSON（第 1 行第 3 列）"),
        (example(status=None, place=None), "映射缺少必填字段：status、place"),
        (example(colour="颜色"), "映射中有未知字段：colour"),
        (
            example(status={"column": "工单状态", "values": {"已办结": "finished"}}),
            "“已办结” → “finished”不可用",
        ),
        (example(handler={"column": "承办单位", "values": {"区城管局": "NOPE"}}), "单位“NOPE”不存在"),
        (example(kind={"values": {"x": "help"}}), "须指定“column”（列名）或“default”（固定值）"),
        (example(status={"column": "工单状态", "values": {"已合并": "merged"}}), "“merged”无法识别"),
        ({**example(), "timezone": "Mars/Olympus"}, "无法识别的时区“Mars/Olympus”"),
        ([1, 2], "映射文件的内容须是一个 JSON 对象"),
    ],
    ids=["not-json", "required", "unknown", "bad-value", "bad-unit", "no-column", "merged", "zone", "list"],
)
def test_it_refuses_a_mapping_it_cannot_use(town: Town, tmp_path: Path, mapping: Any, message: str) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(mapping if isinstance(mapping, str) else json.dumps(mapping), encoding="utf-8")

    assert message in failing(csv_file(tmp_path / "gd.csv", rows({})), mapping=path)
    assert set(written().values()) == {0}


def test_it_takes_the_source_from_the_mapping_file_name_by_default(town: Town, tmp_path: Path) -> None:
    mapping = {key: value for key, value in example().items() if key != "source"}
    path = tmp_path / "zhaoyuan-2023.json"
    path.write_text(json.dumps(mapping), encoding="utf-8")

    run(csv_file(tmp_path / "gd.csv", rows({})), mapping=path)

    assert ImportedCase.objects.get().source == "zhaoyuan-2023"


def test_it_asks_to_use_codes_for_a_unit_name_two_units_share(town: Town, tmp_path: Path) -> None:
    Unit.objects.create(
        code="XC-S1-C2-G9", name="西里一网格", kind=Unit.Kind.GRID, parent=town.other_community
    )

    error = failing(csv_file(tmp_path / "gd.csv", rows({})))

    assert "名称“西里一网格”对应多个单位（编码 XC-S1-C1-G1、XC-S1-C2-G9）" in error


def test_it_marks_the_new_cases_stale_for_the_statistics(town: Town, tmp_path: Path) -> None:
    run(csv_file(tmp_path / "gd.csv", rows(*HISTORIES)))

    stale = set(StaleCase.objects.values_list("case_id", flat=True))
    assert stale == set(ImportedCase.objects.values_list("case_id", flat=True))


def test_it_brings_the_history_into_the_statistics(town: Town, tmp_path: Path) -> None:
    run(csv_file(tmp_path / "gd.csv", rows(*HISTORIES)))

    rollups.refresh()
    march = figures(start=date(2024, 3, 1), end=date(2024, 4, 1)).total

    assert march.accepted == 7  # neither the rejected case nor the one still waiting
    assert (march.satisfaction.numerator, march.satisfaction.denominator) == (1, 2)
    assert (march.solved_rate.numerator, march.solved_rate.denominator) == (1, 2)


def test_it_undoes_every_batch_when_a_later_one_fails(
    town: Town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[int]] = []

    def refuse_second(case_ids: list[int]) -> None:
        calls.append(list(case_ids))
        if len(calls) == 2:
            raise DatabaseError("disk full")

    monkeypatch.setattr(write, "BATCH", 3)
    monkeypatch.setattr(rollups, "mark_stale", refuse_second)

    error = failing(csv_file(tmp_path / "gd.csv", rows(*HISTORIES)))

    assert "写入时出错，已全部撤销，未写入任何数据：disk full" in error
    assert len(calls) == 2 and set(written().values()) == {0}
