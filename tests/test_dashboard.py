"""The leader dashboard, the big screen and their JSON: access, figures, links, bad input, CSP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.test import Client
from pytest_django.fixtures import Settings

from civicgrid.accounts.models import User
from civicgrid.analytics import rollups
from civicgrid.analytics.dashboard import Period, period_of
from civicgrid.analytics.views_dashboard import tile_source
from civicgrid.cases import services
from civicgrid.cases.models import Case
from civicgrid.catalogue.models import Domain, Item
from tests.conftest import CaseMaker, Town, at

PAGE = "/console/dashboard/"
SCREEN = "/console/dashboard/screen/"
DATA = "/console/dashboard/data/"
OCTOBER = "period=custom&first=2026-10-01&last=2026-10-31"
VENDOR = ("vendor/echarts/echarts.min.js", "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def config_of(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="dashboard-config" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page embeds no dashboard-config"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


@pytest.fixture
def clock() -> Iterator[Callable[[str], None]]:
    traveller = time_machine.travel(at("2026-10-12 09:00"), tick=False)
    shift = traveller.start()
    yield lambda text: shift.move_to(at(text))
    traveller.stop()


@pytest.fixture
def october(
    new_case: CaseMaker,
    centre: User,
    chen: User,
    supervisor: User,
    town: Town,
    clock: Callable[[str], None],
) -> list[Case]:
    """Three cases accepted on 12 October (two in 西里一网格, one in 东里一网格) and dispatched to 城管局;
    one resolved on the 14th; one put under supervision on the 15th; the grids' communities have
    coordinates. The clock then stands at 20 October."""
    town.community.lat, town.community.lon = 39.94, 116.37
    town.community.save()
    town.other_community.lat, town.other_community.lon = 39.95, 116.38
    town.other_community.save()
    cases = []
    for place in (town.grid, town.grid, town.far_grid):
        case = new_case(place=place, building=None)
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        cases.append(services.case_acknowledge(case=case, actor=chen))
    clock("2026-10-14 10:00")
    services.case_resolve(case=cases[0], actor=chen, result="已劝离摊贩")
    clock("2026-10-15 10:00")
    services.case_supervise(case=cases[2], actor=supervisor, note="请加快办理")
    while rollups.refresh():
        pass
    clock("2026-10-20 09:00")
    return cases


def data(user: User, query: str = OCTOBER) -> tuple[int, Any]:
    response = signed_in(user).get(f"{DATA}?{query}")
    return response.status_code, response.json()


# --- the pages ----------------------------------------------------------------------------------


def test_it_finds_the_npm_libraries_among_the_static_files() -> None:
    # given `make install` ran scripts/build-ui.sh; then Django's static finders serve its output
    for path in VENDOR:
        assert finders.find(path), f"{path} missing: run `make install` (scripts/build-ui.sh)"


def test_it_shows_a_leader_the_dashboard_with_its_scripts_and_a_strict_policy(
    october: list[Case], leader: User
) -> None:
    response = signed_in(leader).get(f"{PAGE}?{OCTOBER}")

    assert response.status_code == 200
    html = response.content.decode()
    for script in (*VENDOR[:2], "analytics/dashboard.js"):
        assert f'src="/static/{script}"' in html
    assert "西城区 · 数据看板" in html
    assert 'aria-current="page">数据看板</a>' in html  # the top bar's link, marked as here
    config = config_of(html)
    assert config["source"] == f"{DATA}?{OCTOBER}"
    assert config["refresh"] == 0  # only the big screen refreshes itself
    assert config["data"]["kpis"][0]["value"] == 3
    assert config["texts"]["table"] == "表格"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy
    assert "img-src 'self' data: blob:;" in policy + ";"  # no tile host without tiles


def test_it_shows_the_big_screen_refreshing_at_the_configured_pace(
    october: list[Case], centre: User, settings: Settings
) -> None:
    settings.DASHBOARD_SCREEN_REFRESH_SECONDS = 30

    response = signed_in(centre).get(f"{SCREEN}?place=XC-S1")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="screen"' in html
    assert "新街口街道 · 网格全响应指挥中心" in html
    config = config_of(html)
    assert (config["refresh"], config["source"]) == (30, f"{DATA}?place=XC-S1")
    assert config["texts"]["failed"] == "数据更新失败，将重试"


def test_it_lets_the_map_tiles_through_the_policy_of_the_dashboard_only(
    october: list[Case], leader: User, settings: Settings
) -> None:
    settings.MAP_TILE_URL = "https://{s}.tiles.example.cn/{z}/{x}/{y}.png"

    dashboard = signed_in(leader).get(PAGE)
    queues = signed_in(leader).get("/console/")

    assert "img-src 'self' data: blob: https://*.tiles.example.cn" in dashboard["Content-Security-Policy"]
    assert config_of(dashboard.content.decode())["tiles"]["url"] == settings.MAP_TILE_URL
    assert "tiles.example.cn" not in queues["Content-Security-Policy"]


def test_it_names_the_origin_of_a_tile_template() -> None:
    assert tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert tile_source("http://10.0.0.5:8080/tiles/{z}/{x}/{y}.png") == "http://10.0.0.5:8080"


# --- who may see it -----------------------------------------------------------------------------


def test_it_sends_a_visitor_to_sign_in_and_answers_the_script_401(town: Town) -> None:
    page = Client().get(PAGE)
    answer = Client().get(DATA)

    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "登录已失效，请重新登录"


def test_it_refuses_a_department_handler(town: Town, chen: User) -> None:
    page = signed_in(chen).get(PAGE)
    screen = signed_in(chen).get(SCREEN)
    status, answer = data(chen)

    assert page.status_code == screen.status_code == status == 403
    assert "数据看板仅供" in page.content.decode()
    assert answer["error"]["message"] == "您的岗位无权查看统计"


def test_it_shows_area_staff_their_own_area_only(october: list[Case], zhao: User) -> None:
    status, answer = data(zhao)
    elsewhere = signed_in(zhao).get(f"{PAGE}?place=XC-S1-C2")
    refused, why = data(zhao, f"{OCTOBER}&place=XC")

    assert status == 200
    assert answer["place"] == {"code": "XC-S1-C1", "name": "西里社区", "kind": "community"}
    assert answer["kpis"][0]["value"] == 2  # the two cases of 西里一网格
    assert elsewhere.status_code == 403
    assert refused == 403 and why["error"]["message"] == "您无权查看 西城区 的统计"


def test_it_gives_a_grid_worker_the_figures_without_console_links(october: list[Case], wang: User) -> None:
    status, answer = data(wang)

    assert status == 200
    assert answer["place"]["code"] == "XC-S1-C1-G1"
    assert answer["kpis"][0] == {**answer["kpis"][0], "value": 2, "url": None}
    assert all(row["url"] is None for row in answer["trend"])


def test_it_shows_the_top_bar_link_to_those_who_may_open_it(town: Town, leader: User, chen: User) -> None:
    shown = signed_in(leader).get("/console/").content.decode()
    hidden = signed_in(chen).get("/console/").content.decode()

    assert f'href="{PAGE}"' in shown
    assert f'href="{PAGE}"' not in hidden


# --- the figures --------------------------------------------------------------------------------


def test_it_answers_every_part_of_the_dashboard(october: list[Case], leader: User) -> None:
    status, answer = data(leader)

    assert status == 200, answer
    assert (answer["from"], answer["to"], answer["last"], answer["period"]) == (
        "2026-10-01",
        "2026-11-01",
        "2026-10-31",
        "custom",
    )
    assert answer["previous"] == {"from": "2026-09-01", "to": "2026-10-01"}  # the month before
    assert answer["updated"] == "2026-10-20T09:00:00+08:00"
    tiles = {k["key"]: k for k in answer["kpis"]}
    assert list(tiles) == [
        "accepted",
        "closure_rate",
        "on_time_rate",
        "satisfaction",
        "response_rate",
        "overdue",
        "supervised",
    ]
    assert [k["label"] for k in answer["kpis"]][:3] == ["受理量", "办结率", "按期办结率"]
    assert {k: tiles["accepted"][k] for k in ("value", "previous", "change")} == {
        "value": 3,
        "previous": 0,
        "change": 3,
    }
    assert tiles["accepted"]["url"] == (
        "/console/?tab=all&place=XC&created_from=2026-10-01&created_to=2026-10-31"
    )
    assert tiles["response_rate"]["value"] == 1.0
    assert (tiles["response_rate"]["numerator"], tiles["response_rate"]["denominator"]) == (3, 3)
    assert tiles["satisfaction"]["value"] is None and tiles["satisfaction"]["change"] is None
    assert (tiles["supervised"]["value"], tiles["supervised"]["url"]) == (1, None)
    assert tiles["overdue"]["url"] is None  # the period ends after today: the live queue is not its cases
    assert answer["counts"]["supervised_open"] == {
        "value": 1,
        "url": "/console/?tab=supervised&place=XC",
    }

    trend = answer["trend"]
    assert len(trend) == 31
    assert trend[11] == {
        "key": "2026-10-12",
        "label": "2026-10-12",
        "accepted": 3,
        "resolved": 0,
        "url": "/console/?tab=all&place=XC&created_from=2026-10-12&created_to=2026-10-12",
    }
    assert (trend[13]["accepted"], trend[13]["resolved"]) == (0, 1)
    assert answer["domains"] == [
        {
            "key": "ZHZF",
            "label": "综合执法",
            "accepted": 3,
            "url": "/console/?tab=all&place=XC&domain=ZHZF&created_from=2026-10-01&created_to=2026-10-31",
        }
    ]
    [street] = answer["units"]
    assert (street["key"], street["label"], street["accepted"], street["response_rate"]) == (
        "XC-S1",
        "新街口街道",
        3,
        1.0,
    )

    drawn = answer["map"]
    assert (drawn["level"], drawn["level_label"], drawn["unplaced"]) == ("community", "村社区", 0)
    assert [(p["key"], p["lat"], p["lon"], p["accepted"]) for p in drawn["points"]] == [
        ("XC-S1-C1", 39.94, 116.37, 2),
        ("XC-S1-C2", 39.95, 116.38, 1),
    ]
    places = answer["hotspots"]["places"]
    assert [(r["key"], r["count"], r["share"]) for r in places] == [("XC-S1", 3, 1.0)]
    assert answer["hotspots"]["items"][0]["url"] == (
        "/console/?tab=all&place=XC&item=ZHZF-301&created_from=2026-10-01&created_to=2026-10-31"
    )
    assert answer["alerts"] == []


def test_it_counts_cases_without_coordinates_apart_from_the_map(october: list[Case], leader: User) -> None:
    october[0].place.parent.lat = None  # type: ignore[union-attr]
    october[0].place.parent.save()  # type: ignore[union-attr]

    _, answer = data(leader)

    assert [p["key"] for p in answer["map"]["points"]] == ["XC-S1-C2"]
    assert answer["map"]["unplaced"] == 2


def test_it_links_a_domain_to_the_console_list_filtered_by_it(october: list[Case], leader: User) -> None:
    # given another domain with an item of its own, and the cases of October all in 综合执法
    services_domain = Domain.objects.create(code="MSFW", name="民生服务", order=2)
    Item.objects.create(code="MSFW-101", name="供暖", domain=services_domain, level=3, handler_level="street")

    listed = signed_in(leader).get("/console/?tab=all&domain=ZHZF").content.decode()
    other = signed_in(leader).get("/console/?tab=all&domain=MSFW").content.decode()

    assert all(case.number in listed for case in october)
    assert not any(case.number in other for case in october)


# --- periods and bad input ----------------------------------------------------------------------


def test_it_compares_this_month_with_the_same_days_of_last_month() -> None:
    period = period_of({}, today=date(2026, 3, 31))

    assert period == Period("month", date(2026, 3, 1), date(2026, 4, 1), date(2026, 2, 1), date(2026, 3, 1))
    assert period_of({"period": "month"}, today=date(2026, 10, 20)).previous_end == date(2026, 9, 21)


@pytest.mark.parametrize(
    ("first", "last", "previous"),
    [
        ("2026-07-01", "2026-09-30", (date(2026, 4, 1), date(2026, 7, 1))),  # a quarter: the one before
        ("2026-01-01", "2026-02-28", (date(2025, 11, 1), date(2026, 1, 1))),  # across the new year
        ("2026-03-01", "2026-03-30", (date(2026, 1, 30), date(2026, 3, 1))),  # not whole: as many days
    ],
)
def test_it_compares_custom_whole_months_with_as_many_months_before(
    first: str, last: str, previous: tuple[date, date]
) -> None:
    period = period_of({"period": "custom", "first": first, "last": last}, today=date(2026, 11, 1))

    assert (period.previous_start, period.previous_end) == previous


def test_it_compares_last_month_with_the_month_before() -> None:
    period = period_of({"period": "last_month"}, today=date(2026, 1, 15))

    assert period == Period(
        "last_month", date(2025, 12, 1), date(2026, 1, 1), date(2025, 11, 1), date(2025, 12, 1)
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=year", "字段 period 无效：须为 month、last_month、custom 之一"),
        ("period=custom&first=2026-13-01&last=2026-10-31", "字段 first 无效：须为日期（YYYY-MM-DD）"),
        ("period=custom&first=2026-10-01", "字段 last 无效：须为日期（YYYY-MM-DD）"),
        ("period=custom&first=2026-10-31&last=2026-10-01", "字段 last 无效：不能早于起始日"),
        ("period=custom&first=2024-01-01&last=2026-10-01", "字段 last 无效：统计期不能超过 400 天"),
        ("period=custom&first=1900-01-02&last=1900-01-03", "字段 first 无效：日期超出范围"),
        ("place=NOWHERE", "字段 place 无效：未知单位编码 NOWHERE"),
        ("place=D-CG", "字段 place 无效：须为区域单位（区、街道、社区或网格）"),
    ],
)
def test_it_refuses_bad_parameters_in_chinese(town: Town, leader: User, query: str, message: str) -> None:
    status, answer = data(leader, query)
    page = signed_in(leader).get(f"{PAGE}?{query}")

    assert (status, answer) == (400, {"error": {"code": "invalid", "message": message}})
    assert page.status_code == 400
    assert message in page.content.decode()
    assert "dashboard-config" not in page.content.decode()
