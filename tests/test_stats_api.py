"""GET /api/v1/stats: every statistic for a period and a place, scoped to what the caller oversees."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from civicgrid.accounts.models import User
from civicgrid.analytics import metrics, rollups
from civicgrid.cases import services
from civicgrid.cases.models import Case
from civicgrid.org.models import Unit
from tests.conftest import CaseMaker, Town, api_client, at

STATS = "/api/v1/stats"
OCTOBER = "from=2026-10-01&to=2026-11-01"


@pytest.fixture
def clock() -> Iterator[Callable[[str], None]]:
    """Move the frozen clock to 'YYYY-MM-DD HH:MM' (Asia/Shanghai)."""
    traveller = time_machine.travel(at("2026-10-12 09:00"), tick=False)
    shift = traveller.start()
    yield lambda text: shift.move_to(at(text))
    traveller.stop()


@pytest.fixture
def history(
    new_case: CaseMaker,
    case_in: Callable[[str], Case],
    centre: User,
    chen: User,
    supervisor: User,
    town: Town,
    clock: Callable[[str], None],
) -> None:
    """October in 西城区: three cases accepted and dispatched to 城管局 on the 12th (two in 西里社区,
    one in 东里社区), one rejected; one resolved on the 14th and rated satisfied and solved; one
    supervised (督办) on the 13th and again on the 16th."""
    handled = []
    for place in (town.grid, town.grid, town.far_grid):
        clock("2026-10-12 09:00")
        case = new_case(place=place, building=None)
        services.case_accept(case=case, actor=centre)
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        handled.append(services.case_acknowledge(case=case, actor=chen))
    case_in("rejected")
    assert all(c.resolve_by is not None and c.resolve_by < at("2026-11-01 00:00") for c in handled)
    clock("2026-10-13 10:00")
    services.case_supervise(case=handled[1], actor=supervisor, note="请加快办理")
    clock("2026-10-14 10:00")
    services.case_resolve(case=handled[0], actor=chen, result="已劝离摊贩")
    clock("2026-10-15 10:00")
    services.case_evaluate(case=handled[0], actor=centre, satisfaction="satisfied", solved=True)
    clock("2026-10-16 10:00")
    services.case_supervise(case=handled[1], actor=supervisor, note="仍未办结，再次督办")
    fold()


def fold() -> None:
    """What the worker does: fold every changed case into the rollups the endpoint reads."""
    while rollups.refresh():
        pass


def ask(user: User | None, query: str) -> tuple[int, Any]:
    client = Client() if user is None else api_client(user)
    response = client.get(f"{STATS}?{query}")
    return response.status_code, response.json()


def ratio(numerator: float, denominator: int, rate: float | None) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "rate": rate}


# --- shape and figures -------------------------------------------------------------------------


def test_it_answers_every_statistic_of_the_district(history: None, leader: User) -> None:
    status, answer = ask(leader, OCTOBER)

    assert status == 200, answer
    assert answer == {
        "from": "2026-10-01",
        "to": "2026-11-01",
        "place": "XC",
        "handler": None,
        "group_by": None,
        "groups": [],
        "metrics": {
            "accepted": {"count": 3},
            "due": {"count": 3},
            "overdue": {"count": 2},
            "supervised": {"count": 1},  # once, though supervised twice
            "response_rate": ratio(3, 3, 1.0),
            "closure_rate": ratio(1, 3, 0.3333),
            "on_time_rate": ratio(1, 3, 0.3333),
            "satisfaction": ratio(1, 1, 1.0),
            "satisfaction_weighted": ratio(1, 1, 1.0),
            "participation": ratio(1, 1, 1.0),
            "solved_rate": ratio(1, 1, 1.0),
            "return_rate": ratio(0, 3, 0.0),
            "reopen_rate": ratio(0, 1, 0.0),
            "proactive_share": ratio(0, 3, 0.0),
            "repeat_share": ratio(2, 3, 0.6667),
        },
    }


def test_it_narrows_the_figures_to_the_place_asked(history: None, leader: User) -> None:
    _, community = ask(leader, OCTOBER + "&place=XC-S1-C1")
    _, other = ask(leader, OCTOBER + "&place=XC-S1-C2")

    assert community["place"] == "XC-S1-C1"
    assert community["metrics"]["accepted"] == {"count": 2}
    assert community["metrics"]["closure_rate"] == ratio(1, 2, 0.5)
    assert other["metrics"]["overdue"] == {"count": 1}
    assert (community["metrics"]["supervised"], other["metrics"]["supervised"]) == (
        {"count": 1},
        {"count": 0},
    )
    assert other["metrics"]["reopen_rate"] == ratio(0, 0, None)  # nothing to divide by: null


def test_it_answers_every_function_of_the_metrics_module(history: None, leader: User) -> None:
    defined = {
        name
        for name, function in inspect.getmembers(metrics, inspect.isfunction)
        if function.__module__ == metrics.__name__ and not name.startswith("_")
    }

    _, answer = ask(leader, OCTOBER)

    assert set(answer["metrics"]) == defined


def test_it_reads_a_date_as_local_midnight(
    new_case: CaseMaker, centre: User, leader: User, clock: Callable[[str], None]
) -> None:
    # given: accepted at 07:00 on 1 November in Beijing, which is still 31 October in UTC
    clock("2026-11-01 07:00")
    services.case_accept(case=new_case(), actor=centre)
    fold()

    # when
    _, october = ask(leader, OCTOBER)
    _, november = ask(leader, "from=2026-11-01&to=2026-11-02")

    # then
    assert october["metrics"]["accepted"] == {"count": 0}
    assert november["metrics"]["accepted"] == {"count": 1}


# --- who may ask -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["centre", "supervisor", "leader"])
def test_it_gives_district_oversight_the_district_by_default(
    town: Town, request: pytest.FixtureRequest, name: str
) -> None:
    status, answer = ask(request.getfixturevalue(name), OCTOBER)

    assert (status, answer["place"]) == (200, "XC")


def test_it_lets_a_grid_worker_see_only_their_grid(town: Town, wang: User) -> None:
    assert ask(wang, OCTOBER)[1]["place"] == "XC-S1-C1-G1"
    assert ask(wang, OCTOBER + "&place=XC-S1-C1-G1")[0] == 200

    for place in ("XC-S1-C1", "XC-S1-C1-G2", "XC"):
        status, answer = ask(wang, OCTOBER + f"&place={place}")
        assert status == 403, place
        assert answer["error"]["code"] == "forbidden"
        assert answer["error"]["message"]


@pytest.mark.parametrize("name", ["chen", "integrator"])
def test_it_refuses_a_department_handler_and_an_account_without_posts(
    town: Town, request: pytest.FixtureRequest, name: str
) -> None:
    for query in (OCTOBER, OCTOBER + "&place=XC-S1-C1-G1"):
        status, answer = ask(request.getfixturevalue(name), query)

        assert status == 403
        assert answer["error"]["code"] == "forbidden"
        assert "统计" in answer["error"]["message"]


def test_it_refuses_another_districts_place(town: Town, leader: User) -> None:
    Unit.objects.create(code="DC", name="东城区", kind=Unit.Kind.DISTRICT)

    status, answer = ask(leader, OCTOBER + "&place=DC")

    assert status == 403
    assert answer["error"] == {"code": "forbidden", "message": "您无权查看 东城区 的统计"}


def test_it_refuses_without_credentials(db: None) -> None:
    status, answer = ask(None, OCTOBER)

    assert (status, answer["error"]["code"]) == (401, "unauthenticated")


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=2026-11-01", "from"),
        ("from=2026-10-01", "to"),
        ("from=yesterday&to=2026-11-01", "from"),
        ("from=2026-10-01&to=2026-13-01", "to"),
        ("from=2026-11-01&to=2026-10-01", "to"),
        ("from=2026-10-01&to=2026-10-01", "to"),
        ("from=2025-10-01&to=2026-11-06", "to"),
        ("from=2026-10-01T08:00:00&to=2026-11-01", "from"),
        ("from=0001-01-01&to=0001-02-01", "from"),
        ("from=2026-10-01&to=9999-12-31T23:00:00-10:00", "to"),
        (OCTOBER + "&group_by=street", "group_by"),
        (OCTOBER + "&handler=NOPE", "handler"),
        (OCTOBER + "&place=NOPE", "place"),
        (OCTOBER + "&place=", "place"),
        (OCTOBER + "&place=D-CG", "place"),
    ],
)
def test_it_answers_bad_input_with_400_naming_the_field(
    town: Town, leader: User, query: str, field: str
) -> None:
    status, answer = ask(leader, query)

    assert status == 400, answer
    assert answer["error"]["code"] == "invalid"
    assert f"字段 {field} 无效" in answer["error"]["message"]


def test_it_takes_exactly_400_days(town: Town, leader: User) -> None:
    assert ask(leader, "from=2025-10-01&to=2026-11-05")[0] == 200


def test_it_answers_in_english_when_asked(town: Town, leader: User) -> None:
    response = api_client(leader).get(f"{STATS}?to=2026-11-01", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "from" in response.json()["error"]["message"]


def test_it_publishes_the_endpoint_in_the_openapi_document(db: None) -> None:
    document = Client().get("/api/v1/openapi.json").json()

    operation = document["paths"]["/api/v1/stats"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "from",
        "to",
        "place",
        "handler",
        "group_by",
        "level",
    }


# --- scopes and groups -------------------------------------------------------------------------


def test_it_answers_a_department_for_its_own_work(history: None, chen: User) -> None:
    status, answer = ask(chen, OCTOBER + "&handler=D-CG")

    assert status == 200, answer
    assert (answer["place"], answer["handler"]) == (None, "D-CG")
    assert answer["metrics"]["response_rate"] == ratio(3, 3, 1.0)
    assert answer["metrics"]["closure_rate"] == ratio(1, 3, 0.3333)
    assert ask(chen, OCTOBER + "&handler=D-SW")[0] == 403  # another department's work
    assert ask(chen, OCTOBER + "&handler=D-CG&place=XC")[0] == 403  # no area post


def test_it_gives_oversight_any_handler_of_its_district(history: None, leader: User) -> None:
    _, urban = ask(leader, OCTOBER + "&handler=D-CG")
    _, water = ask(leader, OCTOBER + "&handler=D-SW")

    assert urban["metrics"]["accepted"] == {"count": 3}
    assert water["metrics"]["accepted"] == {"count": 0}
    # 督办 goes to the unit the supervision was addressed to, the one handling the case then
    assert (urban["metrics"]["supervised"], water["metrics"]["supervised"]) == ({"count": 1}, {"count": 0})


def test_it_answers_one_entry_per_group(history: None, leader: User) -> None:
    _, by_unit = ask(leader, OCTOBER + "&place=XC-S1&group_by=unit")
    _, by_grid = ask(leader, OCTOBER + "&group_by=unit&level=grid")
    _, by_day = ask(leader, "from=2026-10-12&to=2026-10-16&group_by=day")

    assert [(g["key"], g["label"], g["metrics"]["accepted"]["count"]) for g in by_unit["groups"]] == [
        ("XC-S1-C1", "西里社区", 2),
        ("XC-S1-C2", "东里社区", 1),
    ]
    assert [g["key"] for g in by_grid["groups"]] == ["XC-S1-C1-G1", "XC-S1-C2-G1"]
    assert [(g["key"], g["metrics"]["accepted"]["count"]) for g in by_day["groups"]] == [
        ("2026-10-12", 3),  # every day of the period has its entry, for a continuous trend line
        ("2026-10-13", 0),
        ("2026-10-14", 0),
        ("2026-10-15", 0),
    ]
    assert (
        sum(g["metrics"]["accepted"]["count"] for g in by_unit["groups"])
        == by_unit["metrics"]["accepted"]["count"]
    )
