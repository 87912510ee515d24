"""Who sees which case on GET /api/v1/cases and /cases/{number}, reporter privacy, and the list filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Case
from tests.conftest import CaseMaker, Town, api_client, at

CASES = "/api/v1/cases"


def listing(client: Client, **params: Any) -> tuple[int, Any]:
    response = client.get(CASES, {k: str(v) for k, v in params.items()})
    return response.status_code, response.json()


def listed(user: User, **params: Any) -> list[str]:
    """The numbers `user` gets from one page of the list, in the order given."""
    status, body = listing(api_client(user), **params)
    assert status == 200, body
    return [item["number"] for item in body["items"]]


def detail(user: User, case: Case) -> tuple[int, Any]:
    response = api_client(user).get(f"{CASES}/{case.number}")
    return response.status_code, response.json()


def sees(user: User, case: Case) -> bool:
    """Whether `user` sees `case` in the list and its detail; the two must agree."""
    in_list = case.number in listed(user)
    status, _body = detail(user, case)
    assert status in (200, 404)
    assert in_list == (status == 200), f"list says {in_list}, detail says {status}"
    return in_list


def dispatched_to(case: Case, lead: Any, centre: User) -> Case:
    services.case_accept(case=case, actor=centre)
    return services.case_dispatch(case=case, actor=centre, lead=lead)


class Places:
    """One case in each place of the town, all filed by the integrator."""

    def __init__(self, town: Town, new_case: CaseMaker) -> None:
        self.grid = new_case()
        self.neighbour = new_case(place=town.neighbour_grid, building=None)
        self.far = new_case(place=town.far_grid, building=None)
        self.district = new_case(place=town.district, building=None)

    def seen_by(self, user: User) -> set[str]:
        named = {"grid": self.grid, "neighbour": self.neighbour, "far": self.far, "district": self.district}
        return {name for name, case in named.items() if sees(user, case)}


@pytest.fixture
def places(town: Town, new_case: CaseMaker) -> Places:
    return Places(town, new_case)


# --- departments ---------------------------------------------------------------------------------


def test_it_hides_another_departments_case_from_a_handler(
    new_case: CaseMaker, centre: User, chen: User, sun: User, town: Town
) -> None:
    water_case = dispatched_to(new_case(), town.water, centre)

    status, body = detail(chen, water_case)

    assert (status, body["error"]["code"]) == (404, "not_found")
    assert water_case.number not in listed(chen)
    assert sees(sun, water_case)


@pytest.mark.parametrize("handing_on", ["return", "escalate"])
def test_it_still_shows_a_department_a_case_it_handled_before(
    case_in: Callable[[str], Case], chen: User, handing_on: str
) -> None:
    case = case_in("in_progress")

    if handing_on == "return":
        services.case_return(case=case, actor=chen, reason="不属于城管职责")
    else:
        services.case_escalate(case=case, actor=chen, note="需区级协调")

    assert sees(chen, case)


def test_it_shows_a_department_nothing_before_it_is_given_the_case(
    case_in: Callable[[str], Case], chen: User
) -> None:
    accepted = case_in("accepted")

    assert not sees(chen, accepted)


# --- areas ----------------------------------------------------------------------------------------


def test_it_shows_a_grid_worker_their_grid_and_not_the_neighbours(
    places: Places, wang: User, li: User
) -> None:
    assert places.seen_by(wang) == {"grid"}
    assert places.seen_by(li) == {"neighbour"}


def test_it_shows_a_community_liaison_their_communitys_grids(places: Places, zhao: User) -> None:
    assert places.seen_by(zhao) == {"grid", "neighbour"}


def test_it_shows_a_street_liaison_the_whole_street(places: Places, qian: User) -> None:
    assert places.seen_by(qian) == {"grid", "neighbour", "far"}


@pytest.mark.parametrize("name", ["centre", "supervisor", "leader"])
def test_it_shows_the_district_everything_in_it(
    places: Places, request: pytest.FixtureRequest, name: str
) -> None:
    overseer: User = request.getfixturevalue(name)

    assert places.seen_by(overseer) == {"grid", "neighbour", "far", "district"}


def test_it_shows_an_integrator_only_what_it_filed(
    places: Places, new_case: CaseMaker, integrator: User, wang: User
) -> None:
    found_by_wang = new_case(actor=wang, channel="grid_app", proactive=True)

    assert not sees(integrator, found_by_wang)
    assert places.seen_by(integrator) == {"grid", "neighbour", "far", "district"}


def test_it_keeps_filters_inside_the_scope(places: Places, wang: User, town: Town) -> None:
    assert listed(wang, place=town.neighbour_grid.code) == []
    assert listed(wang, place=town.street.code) == [places.grid.number]


@pytest.mark.parametrize("path", [CASES, CASES + "/20250101-000001"])
def test_it_refuses_an_anonymous_caller_with_401(db: None, path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.json()["error"]["message"]


# --- reporter privacy -----------------------------------------------------------------------------


def reporter(user: User, case: Case) -> dict[str, Any]:
    status, body = detail(user, case)
    assert status == 200, body
    shown: dict[str, Any] = body["reporter"]
    return shown


@pytest.mark.parametrize(
    "filed",
    [
        {"kind": "report"},
        {"reporter": services.Reporter(name="张三", phone="13812341234", confidential=True)},
    ],
    ids=["whistle-blowing", "confidential"],
)
def test_it_withholds_a_confidential_reporter_from_the_handling_department(
    new_case: CaseMaker, centre: User, chen: User, town: Town, filed: dict[str, Any]
) -> None:
    case = dispatched_to(new_case(**filed), town.urban, centre)

    withheld, full = reporter(chen, case), reporter(centre, case)

    assert (withheld["name"], withheld["phone"], withheld["confidential"]) == (None, None, True)
    assert (full["name"], full["phone"]) == ("张三", "13812341234")


def test_it_masks_the_phone_for_a_grid_worker_who_did_not_receive_the_case(
    new_case: CaseMaker, centre: User, wang: User, town: Town
) -> None:
    case = dispatched_to(new_case(), town.urban, centre)

    assert reporter(wang, case)["phone"] == "138****1234"


def test_it_shows_the_staff_member_who_filed_the_case_the_reporter_in_full(
    new_case: CaseMaker, centre: User, chen: User, wang: User, town: Town
) -> None:
    case = dispatched_to(new_case(actor=wang, channel="grid_app"), town.urban, centre)

    assert reporter(wang, case)["phone"] == "13812341234"
    assert reporter(chen, case)["phone"] == "138****1234"


def test_it_shows_the_grid_worker_who_took_the_case_on_the_reporter_in_full(
    new_case: CaseMaker, wang: User
) -> None:
    case = new_case()
    services.case_accept(case=case, actor=wang)

    assert Case.objects.get(pk=case.pk).first_receiver == wang
    assert reporter(wang, case)["phone"] == "13812341234"


# --- list filters ---------------------------------------------------------------------------------


def test_it_filters_by_status_owner_place_and_item(
    new_case: CaseMaker, case_in: Callable[[str], Case], centre: User, town: Town
) -> None:
    submitted = new_case(place=town.far_grid, building=None)
    accepted = case_in("accepted")
    dispatched = case_in("dispatched")
    urgent = new_case(item=town.urgent_item)

    assert set(listed(centre, status="accepted,dispatched")) == {accepted.number, dispatched.number}
    assert listed(centre, owner=town.urban.code) == [dispatched.number]
    assert listed(centre, owner=town.district.code) == [accepted.number]
    assert listed(centre, place=town.other_community.code) == [submitted.number]
    assert listed(centre, item=town.urgent_item.code) == [urgent.number]


def test_it_refuses_an_unknown_unit_in_a_filter(centre: User) -> None:
    status, body = listing(api_client(centre), owner="NOPE")

    assert (status, body["error"]["code"]) == (400, "invalid")


def test_it_filters_overdue_cases_at_the_time_of_asking(
    case_in: Callable[[str], Case], new_case: CaseMaker, centre: User
) -> None:
    with time_machine.travel(at("2025-06-03 10:00"), tick=False):
        late = case_in("in_progress")
        done = case_in("resolved")
        waiting = new_case()
    assert late.resolve_by is not None

    with time_machine.travel(at("2025-06-05 10:00"), tick=False):
        early = listed(centre, overdue="true")
    with time_machine.travel(late.resolve_by, tick=False):
        at_deadline = listed(centre, overdue="true")
    with time_machine.travel(at("2025-07-01 10:00"), tick=False):
        overdue = listed(centre, overdue="true")
        on_time = set(listed(centre, overdue="false"))

    assert (early, at_deadline, overdue) == ([], [], [late.number])
    assert on_time == {done.number, waiting.number}


def test_it_filters_by_the_created_range_including_the_start_only(new_case: CaseMaker, centre: User) -> None:
    made = {}
    for moment in ("2025-06-01 09:00", "2025-06-02 09:00", "2025-06-03 09:00"):
        with time_machine.travel(at(moment), tick=False):
            made[moment] = new_case().number

    between = listed(
        centre, created_from=at("2025-06-02 09:00").isoformat(), created_to=at("2025-06-03 09:00").isoformat()
    )

    assert between == [made["2025-06-02 09:00"]]


def test_it_walks_every_case_once_newest_first_with_the_cursor(new_case: CaseMaker, centre: User) -> None:
    filed: list[str] = []
    for moment in ("2025-06-01 09:00", "2025-06-02 09:00", "2025-06-02 09:00", "2025-06-02 09:00"):
        with time_machine.travel(at(moment), tick=False):
            filed.append(new_case().number)
    with time_machine.travel(at("2025-06-03 09:00"), tick=False):
        filed += [new_case().number, new_case().number, new_case().number]
    client, walked, pages = api_client(centre), [], 0
    cursor: str | None = ""

    while cursor is not None:
        status, body = listing(client, limit=2, **({"cursor": cursor} if cursor else {}))
        assert status == 200, body
        assert len(body["items"]) <= 2
        walked += [item["number"] for item in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1

    assert walked == list(reversed(filed))
    assert len(set(walked)) == len(walked)
    assert pages == 4


def test_it_refuses_a_forged_cursor(centre: User) -> None:
    status, body = listing(api_client(centre), cursor="not-a-cursor")

    assert (status, body["error"]["code"]) == (400, "invalid")
