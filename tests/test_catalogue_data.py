"""The shipped 事项清单 file and its loader."""

from __future__ import annotations

import copy
from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from civicgrid.catalogue.models import Domain, HandlerLevel, Item
from civicgrid.catalogue.services import (
    CatalogueDataError,
    catalogue_data,
    catalogue_departments,
    catalogue_load,
)

FIVE_DOMAINS = {"综合执法", "安全生产", "社会治安", "民生服务", "生态环保"}


def _data_with(*, index: int, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(catalogue_data())
    data["items"][index].update(changes)
    return data


def test_it_ships_at_least_seventy_items_spread_over_three_levels() -> None:
    levels = Counter(item["level"] for item in catalogue_data()["items"])

    assert sum(levels.values()) >= 70
    assert set(levels) == {1, 2, 3}
    assert all(levels[level] >= 18 for level in (1, 2, 3)), levels


def test_it_ships_the_five_domains_each_with_items() -> None:
    data = catalogue_data()

    assert {domain["name"] for domain in data["domains"]} == FIVE_DOMAINS
    assert {item["domain"] for item in data["items"]} == {domain["code"] for domain in data["domains"]}


def test_it_names_a_listed_department_for_every_department_handled_item() -> None:
    data = catalogue_data()
    departments = {code for code, _ in catalogue_departments(data=data)}

    for item in data["items"]:
        if item["handler_level"] == HandlerLevel.DEPARTMENT:
            assert item["handler_department"] in departments, item["code"]
        else:
            assert item["handler_department"] == "", item["code"]
    assert len(departments) >= 16


def test_it_gives_emergencies_short_deadlines() -> None:
    red = [item for item in catalogue_data()["items"] if item["colour"] == "red"]

    assert red
    assert all(item["response_hours"] <= 2 and item["resolve_days"] <= 2 for item in red)


@pytest.mark.django_db
def test_it_creates_everything_on_the_first_load_and_nothing_on_the_second() -> None:
    data = catalogue_data()

    first = catalogue_load()
    second = catalogue_load()

    assert (first.domains_created, first.items_created) == (5, len(data["items"]))
    assert (second.domains_created, second.items_created) == (0, 0)
    assert (second.domains_updated, second.items_updated) == (5, len(data["items"]))
    assert Item.objects.count() == len(data["items"])


@pytest.mark.django_db
def test_it_keeps_a_retired_item_retired_on_reload() -> None:
    catalogue_load()
    Item.objects.filter(code="AQSC-101").update(active=False)

    catalogue_load()

    assert Item.objects.get(code="AQSC-101").active is False


@pytest.mark.django_db
def test_it_rejects_a_level_four_item_and_writes_nothing() -> None:
    data = _data_with(index=-1, level=4)
    bad_code = data["items"][-1]["code"]

    with pytest.raises(CatalogueDataError, match=bad_code):
        catalogue_load(data=data)

    assert Domain.objects.count() == 0
    assert Item.objects.count() == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"domain": "NOPE"},
        {"colour": "green"},
        {"handler_level": "department", "handler_department": ""},
        {"handler_level": "department", "handler_department": "D-NOPE"},
        {"handler_level": "grid", "handler_department": "D-CG"},
        {"response_hours": 0},
        {"level": True},
    ],
)
@pytest.mark.django_db
def test_it_rejects_an_inconsistent_item_naming_its_code(changes: dict[str, Any]) -> None:
    data = _data_with(index=0, **changes)

    with pytest.raises(CatalogueDataError, match=data["items"][0]["code"]):
        catalogue_load(data=data)

    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_it_loads_from_the_command_line() -> None:
    out = StringIO()

    call_command("loadcatalogue", stdout=out)

    assert "新建 5" in out.getvalue()
    assert Item.objects.count() == len(catalogue_data()["items"])


@pytest.mark.django_db
def test_it_turns_a_bad_file_into_a_command_error(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(CommandError, match="无法读取"):
        call_command("loadcatalogue", "--file", str(path))
