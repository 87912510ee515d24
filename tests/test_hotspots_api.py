"""GET /api/v1/stats/hotspots and /stats/trends: hot spots and alerts, scoped like /stats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from civicgrid.accounts.models import User
from tests.conftest import Town, api_client, at
from tests.test_hotspots import accepted

HOTSPOTS = "/api/v1/stats/hotspots"
TRENDS = "/api/v1/stats/trends"
OCTOBER = "from=2026-10-01&to=2026-11-01"


def ask(user: User | None, url: str) -> tuple[int, Any]:
    response = (Client() if user is None else api_client(user)).get(url)
    return response.status_code, response.json()


@pytest.fixture
def spike(town: Town) -> None:
    """占道经营 in 西里一网格: 2 a week from late August, then 10 in the week of 22–28 October; the
    last two share a phone and the building."""
    for weeks_back in range(9):
        for i in range(10 if weeks_back == 0 else 2):
            moment = at("2026-10-28 20:00") - timedelta(weeks=weeks_back, minutes=i)
            phone = "13812341234" if weeks_back == 0 and i < 2 else ""
            accepted(town.grid, moment, item=town.item, phone=phone, building=town.building)


def test_it_answers_the_hot_spots_of_the_district(spike: None, leader: User) -> None:
    status, answer = ask(leader, f"{HOTSPOTS}?{OCTOBER}&limit=1")

    assert status == 200, answer
    assert (answer["from"], answer["to"], answer["place"], answer["level"]) == (
        "2026-10-01",
        "2026-11-01",
        "XC",
        "street",
    )
    assert answer["places"] == {
        "total": 16,
        "unattributed": 0,
        "rows": [{"key": "XC-S1", "label": "新街口街道", "count": 16, "share": 1.0}],
    }
    assert answer["items"]["rows"] == [{"key": "ZHZF-301", "label": "占道经营", "count": 16, "share": 1.0}]
    repeats = answer["repeats"]
    assert (repeats["phone_groups"], repeats["building_item_groups"]) == (1, 1)
    assert repeats["by_phone"][0]["label"] == "138****1234"
    assert repeats["by_phone"][0]["count"] == 2
    [spot] = repeats["by_building_item"]
    assert (spot["label"], spot["count"], spot["elsewhere"]) == ("西里1号楼 · 占道经营", 24, 0)
    assert spot["first"] == "2026-09-09T19:59:00+08:00"  # 30 days before the first case of October
    assert repeats["repeat_cases"] == len(spot["repeating"]) == 16


def test_it_answers_the_trend_alerts_as_of_today(spike: None, leader: User) -> None:
    with time_machine.travel(at("2026-10-28 21:00"), tick=False):
        status, answer = ask(leader, f"{TRENDS}?place=XC-S1")

    assert status == 200, answer
    assert answer["as_of"] == "2026-10-28"
    assert answer["window"] == {"from": "2026-10-22", "to": "2026-10-29"}
    assert answer["baseline"] == {"from": "2026-08-27", "to": "2026-10-22"}
    assert (answer["level"], answer["alpha"], answer["min_count"]) == ("community", 0.01, 5)
    [alert] = answer["alerts"]
    assert {k: alert[k] for k in ("place", "place_name", "item", "item_name", "observed")} == {
        "place": "XC-S1-C1",
        "place_name": "西里社区",
        "item": "ZHZF-301",
        "item_name": "占道经营",
        "observed": 10,
    }
    assert (alert["expected"], alert["ratio"]) == (2.0, 5.0)
    assert alert["p_value"] == pytest.approx(4.6498075e-05, rel=1e-6)


def test_it_finds_no_alert_on_a_quiet_week(spike: None, leader: User) -> None:
    status, answer = ask(leader, f"{TRENDS}?as_of=2026-10-21&level=grid")

    assert (status, answer["level"], answer["alerts"]) == (200, "grid", [])


# --- who may ask -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [f"{HOTSPOTS}?{OCTOBER}", f"{TRENDS}?as_of=2026-10-28"])
def test_it_gives_a_grid_worker_their_grid_only(town: Town, wang: User, url: str) -> None:
    status, answer = ask(wang, url)
    assert (status, answer["place"], answer["level"]) == (200, "XC-S1-C1-G1", "grid")

    for place in ("XC-S1-C1", "XC-S1-C1-G2", "XC"):
        status, answer = ask(wang, f"{url}&place={place}")
        assert (status, answer["error"]["code"]) == (403, "forbidden"), place


@pytest.mark.parametrize("url", [f"{HOTSPOTS}?{OCTOBER}", f"{TRENDS}?as_of=2026-10-28"])
def test_it_refuses_a_department_handler_and_strangers(town: Town, chen: User, url: str) -> None:
    status, answer = ask(chen, url)
    assert (status, answer["error"]["code"]) == (403, "forbidden")
    assert "统计" in answer["error"]["message"]

    assert ask(None, url)[0] == 401


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{HOTSPOTS}?to=2026-11-01", "from"),
        (f"{HOTSPOTS}?from=2026-11-01&to=2026-10-01", "to"),
        (f"{HOTSPOTS}?from=2025-10-01&to=2026-11-06", "to"),
        (f"{HOTSPOTS}?from=0001-01-01&to=0001-02-01", "from"),
        (f"{HOTSPOTS}?from=yesterday&to=2026-11-01", "from"),
        (f"{HOTSPOTS}?{OCTOBER}&level=province", "level"),
        (f"{HOTSPOTS}?{OCTOBER}&place=XC-S1-C1&level=street", "level"),
        (f"{HOTSPOTS}?{OCTOBER}&place=NOPE", "place"),
        (f"{HOTSPOTS}?{OCTOBER}&place=D-CG", "place"),
        (f"{HOTSPOTS}?{OCTOBER}&limit=0", "limit"),
        (f"{HOTSPOTS}?{OCTOBER}&limit=101", "limit"),
        (f"{TRENDS}?as_of=2026-13-01", "as_of"),
        (f"{TRENDS}?as_of=0001-01-01", "as_of"),
        (f"{TRENDS}?level=grids", "level"),
        (f"{TRENDS}?place=XC-S1-C1-G1&level=community", "level"),
    ],
)
def test_it_answers_bad_input_with_400_naming_the_field(
    town: Town, leader: User, url: str, field: str
) -> None:
    status, answer = ask(leader, url)

    assert status == 400, answer
    assert answer["error"]["code"] == "invalid"
    assert f"字段 {field} 无效" in answer["error"]["message"]


def test_it_publishes_both_endpoints_beside_the_statistics(town: Town, leader: User) -> None:
    document = Client().get("/api/v1/openapi.json").json()

    assert {"/api/v1/stats", "/api/v1/stats/hotspots", "/api/v1/stats/trends"} <= set(document["paths"])
    hotspots = document["paths"]["/api/v1/stats/hotspots"]["get"]
    assert {p["name"] for p in hotspots["parameters"]} == {"from", "to", "place", "level", "limit"}
    assert ask(leader, f"/api/v1/stats?{OCTOBER}")[0] == 200
