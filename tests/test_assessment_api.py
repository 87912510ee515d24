"""GET /api/v1/stats/assessment: 考核 of a district's units, for the district's oversight posts only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.org.models import Unit
from tests.conftest import Town, api_client
from tests.test_assessment import rolled

URL = "/api/v1/stats/assessment"
OCTOBER = "from=2026-10-01&to=2026-11-01"


def ask(user: User | None, query: str) -> tuple[int, Any]:
    response = (Client() if user is None else api_client(user)).get(f"{URL}?{query}")
    return response.status_code, response.json()


def person(username: str, unit: Unit, role: Role) -> User:
    user = User.objects.create_user(username=username, password="pw-for-tests-1", display_name=username)
    post_grant(user=user, unit=unit, role=role)
    return user


@pytest.fixture
def october(town: Town) -> None:
    """西里: responded 9/10, solved 80/100, satisfied 90/100; 东里: 10/10, 70/100, 70/100."""
    rolled(town.grid, assigned=10, responded=9, evaluations=100, satisfied=90, solved=80)
    rolled(town.far_grid, assigned=10, responded=10, evaluations=100, satisfied=70, solved=70)


def test_it_answers_the_ranking_of_the_communities(october: None, leader: User) -> None:
    status, answer = ask(leader, f"{OCTOBER}&kind=community&district=XC")

    assert status == 200, answer
    assert (answer["from"], answer["to"], answer["district"], answer["kind"]) == (
        "2026-10-01",
        "2026-11-01",
        "XC",
        "community",
    )
    assert answer["baseline"] == {"numerator": 160.0, "denominator": 200, "rate": 0.8, "rank": None}
    assert (answer["deduction_per_point"], answer["weights"]) == (
        1.0,
        {"response_rate": 0.1, "solved_rate": 0.5, "satisfaction": 0.4},
    )
    west, east = answer["units"]
    assert (west["code"], west["name"], west["composite_rank"]) == ("XC-S1-C1", "西里社区", 1)
    assert (west["score"], west["deduction"], west["composite"]) == (85.0, 0.0, 85.0)
    assert (east["score"], east["deduction"], east["composite"]) == (73.0, 10.0, 63.0)
    assert west["rates"]["satisfaction"] == {"numerator": 90, "denominator": 100, "rate": 0.9, "rank": 1}
    assert east["rates"]["response_rate"]["rank"] == 1
    assert west["rates"]["return_rate"] == {"numerator": 0, "denominator": 0, "rate": None, "rank": None}
    assert set(west["rates"]) == {
        "response_rate",
        "closure_rate",
        "on_time_rate",
        "satisfaction",
        "satisfaction_weighted",
        "solved_rate",
        "participation",
        "return_rate",
        "reopen_rate",
    }
    assert (west["insufficient_data"], west["missing"], west["exclusions"]) == (False, [], [])
    assert answer["exclusions"] == []


def test_it_assesses_the_callers_district_by_default(town: Town, centre: User) -> None:
    status, answer = ask(centre, f"{OCTOBER}&kind=department")

    assert (status, answer["district"]) == (200, "XC")
    assert [u["code"] for u in answer["units"]] == ["D-CG", "D-SW"]
    assert all(u["insufficient_data"] and u["composite_rank"] is None for u in answer["units"])


# --- who may ask -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.LEADER, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN])
def test_it_answers_the_districts_oversight_posts(town: Town, role: Role) -> None:
    status, answer = ask(person("boss", town.district, role), f"{OCTOBER}&kind=street&district=XC")

    assert status == 200, answer
    assert [u["code"] for u in answer["units"]] == ["XC-S1"]


def test_it_answers_an_admin_posted_in_a_department_for_its_district(town: Town) -> None:
    status, answer = ask(person("it", town.urban, Role.ADMIN), f"{OCTOBER}&kind=street")

    assert (status, answer["district"]) == (200, "XC")


@pytest.mark.parametrize("who", ["wang", "chen", "qian", "zhao"])
def test_it_refuses_grid_workers_handlers_and_liaisons(
    who: str, wang: User, chen: User, qian: User, zhao: User
) -> None:
    user = {"wang": wang, "chen": chen, "qian": qian, "zhao": zhao}[who]
    for query in (f"{OCTOBER}&kind=street", f"{OCTOBER}&kind=street&district=XC"):
        status, answer = ask(user, query)
        assert (status, answer["error"]["code"]) == (403, "forbidden"), query
        assert "考核" in answer["error"]["message"]


def test_it_refuses_a_leader_of_a_street(town: Town) -> None:
    status, answer = ask(person("boss", town.street, Role.LEADER), f"{OCTOBER}&kind=community&district=XC")

    assert (status, answer["error"]["code"]) == (403, "forbidden")


def test_it_refuses_another_districts_leader(town: Town, leader: User) -> None:
    other = Unit.objects.create(code="DC", name="东城区", kind=Unit.Kind.DISTRICT)
    stranger = person("dong", other, Role.LEADER)

    status, answer = ask(stranger, f"{OCTOBER}&kind=street&district=XC")
    assert (status, answer["error"]["code"]) == (403, "forbidden")
    assert "西城区" in answer["error"]["message"]
    assert ask(stranger, f"{OCTOBER}&kind=street")[1]["district"] == "DC"
    assert ask(leader, f"{OCTOBER}&kind=street&district=DC")[0] == 403


def test_it_refuses_strangers(town: Town) -> None:
    assert ask(None, f"{OCTOBER}&kind=street")[0] == 401


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=2026-11-01&kind=street", "from"),
        ("from=2026-13-01&to=2026-11-01&kind=street", "from"),
        ("from=2026-10-01&kind=street", "to"),
        ("from=2026-11-01&to=2026-10-01&kind=street", "to"),
        ("from=2025-01-01&to=2026-11-01&kind=street", "to"),
        ("from=0001-01-01&to=2026-11-01&kind=street", "from"),
        (f"{OCTOBER}", "kind"),
        (f"{OCTOBER}&kind=grid", "kind"),
        (f"{OCTOBER}&kind=street&district=NOPE", "district"),
        (f"{OCTOBER}&kind=street&district=XC-S1", "district"),
        (f"{OCTOBER}&kind=street&district=" + "X" * 40, "district"),
        (f"{OCTOBER}&kind=street&district=X%00C", "district"),
    ],
)
def test_it_names_the_field_at_fault(leader: User, query: str, field: str) -> None:
    status, answer = ask(leader, query)

    assert (status, answer["error"]["code"]) == (400, "invalid"), answer
    assert answer["error"]["message"].startswith(f"字段 {field} 无效：")
