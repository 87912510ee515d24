"""Who may do what: every role × action, refusals through the services and through HTTP (403 / 404)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from civicgrid.accounts.models import User
from civicgrid.api import api
from civicgrid.cases import services
from civicgrid.cases.errors import NotPermitted
from civicgrid.cases.models import Case
from civicgrid.cases.policy import allowed_actions
from civicgrid.cases.selectors import pending_exclusion
from civicgrid.cases.states import Action, Status
from tests.conftest import api_client
from tests.test_lifecycle import (
    PERSONAS,
    WAYS,
    World,
    ask_for_exclusion,
    ask_for_extension,
    snapshot,
    world_from,
)
from tests.test_states import ACTIONS

S = Status


@pytest.fixture
def world(request: pytest.FixtureRequest) -> World:
    return world_from(request)


# Who sees a case in 西里一网格 (created by the integrator): the district's oversight, the grid,
# community and street above it, the integrator that filed it, and 城管 once it was given the case.
SEES_AT_INTAKE = frozenset({"centre", "supervisor", "leader", "wang", "zhao", "qian", "integrator"})
SEES_WITH_URBAN = SEES_AT_INTAKE | {"chen"}


@dataclass(frozen=True)
class Scene:
    """A case in a status where `action` is possible, and the people expected to be allowed it."""

    action: Action
    status: Status
    allowed: frozenset[str]
    shape: str = "plain"  # plain: 城管 leads once dispatched; community: 西里社区 leads
    prepare: Callable[[Case, World], None] | None = None
    # People who hold the right but whom the case's state turns away (409, not 403).
    held_back: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return f"{self.action.value}-{self.shape}-{self.status.value}"

    @property
    def sees(self) -> frozenset[str]:
        with_urban = self.shape == "plain" and self.status not in (S.SUBMITTED, S.ACCEPTED)
        return SEES_WITH_URBAN if with_urban else SEES_AT_INTAKE

    def build(self, world: World) -> Case:
        case = world.build(self.shape, self.status)
        if self.prepare is not None:
            self.prepare(case, world)
        return Case.objects.get(pk=case.pk)


def scene(action: Action, status: Status, *allowed: str, **more: Any) -> Scene:
    return Scene(action, status, frozenset(allowed), **more)


EVERY_STAFF_WHO_SEES = ("centre", "supervisor", "leader", "wang", "zhao", "qian", "chen")
MATRIX = [
    scene(Action.ACCEPT, S.SUBMITTED, "centre", "wang"),
    scene(Action.REJECT, S.SUBMITTED, "centre"),
    scene(Action.DISPATCH, S.ACCEPTED, "centre"),
    scene(Action.ACKNOWLEDGE, S.DISPATCHED, "chen"),
    scene(Action.ACKNOWLEDGE, S.DISPATCHED, "zhao", shape="community"),
    scene(Action.RETURN, S.DISPATCHED, "chen"),
    scene(Action.RETURN, S.DISPATCHED, "zhao", shape="community"),
    scene(Action.REQUEST_EXTENSION, S.DISPATCHED, "chen"),
    scene(Action.APPROVE_EXTENSION, S.DISPATCHED, "supervisor", prepare=ask_for_extension),
    scene(Action.DENY_EXTENSION, S.DISPATCHED, "supervisor", prepare=ask_for_extension),
    scene(Action.ESCALATE, S.DISPATCHED, "chen", "supervisor"),
    scene(Action.ESCALATE, S.DISPATCHED, "zhao", "supervisor", shape="community"),
    # 吹哨 is an area unit's call: 城管 leading the case may not summon, 西里社区 may.
    scene(Action.SUMMON, S.DISPATCHED, held_back=frozenset({"chen"})),
    scene(Action.SUMMON, S.DISPATCHED, "zhao", shape="community"),
    scene(Action.RESOLVE, S.ACCEPTED, "wang"),
    scene(Action.RESOLVE, S.IN_PROGRESS, "chen"),
    scene(Action.EVALUATE, S.RESOLVED, "centre", "integrator"),
    scene(Action.REOPEN, S.RESOLVED, "centre", "supervisor"),
    scene(Action.CLOSE, S.RESOLVED, "centre", "supervisor"),
    scene(Action.MERGE, S.SUBMITTED, "centre"),
    scene(Action.WITHDRAW, S.DISPATCHED, "centre", "integrator"),
    scene(Action.SUPERVISE, S.DISPATCHED, "supervisor", "leader"),
    scene(Action.NOTE, S.DISPATCHED, *EVERY_STAFF_WHO_SEES),
    scene(Action.NOTE, S.RESOLVED, *EVERY_STAFF_WHO_SEES),
    # 考核剔除: the units whose figures count the case (the lead unit, the community and street
    # holding its place; not the grid, whose work counts in its community's) ask; a supervisor of
    # its district decides.
    scene(Action.REQUEST_EXCLUSION, S.ACCEPTED, "zhao", "qian"),
    scene(Action.REQUEST_EXCLUSION, S.DISPATCHED, "chen", "zhao", "qian"),
    scene(Action.REQUEST_EXCLUSION, S.CLOSED, "chen", "zhao", "qian"),
    scene(Action.REQUEST_EXCLUSION, S.IN_PROGRESS, "zhao", "qian", shape="community"),
    scene(Action.EXCLUDE, S.CLOSED, "supervisor", prepare=ask_for_exclusion),
    scene(Action.EXCLUDE, S.IN_PROGRESS, "supervisor", prepare=ask_for_exclusion),
    scene(Action.REFUSE_EXCLUSION, S.DISPATCHED, "supervisor", prepare=ask_for_exclusion),
]


def test_it_has_a_row_of_the_matrix_for_every_action() -> None:
    assert {s.action for s in MATRIX} == set(ACTIONS)


@pytest.mark.parametrize("scene", MATRIX, ids=[s.id for s in MATRIX])
def test_it_offers_each_action_exactly_to_the_people_allowed_it(world: World, scene: Scene) -> None:
    case = scene.build(world)

    offered = {
        name for name in PERSONAS if scene.action in allowed_actions(case=case, user=world.people[name])
    }

    assert offered == scene.allowed


@pytest.mark.parametrize("scene", MATRIX, ids=[s.id for s in MATRIX])
def test_it_refuses_the_service_to_everyone_else_who_sees_the_case(world: World, scene: Scene) -> None:
    case = scene.build(world)
    before = snapshot(case)
    refused = sorted(scene.sees - scene.allowed - scene.held_back)
    outcomes: dict[str, str] = {}

    for name in refused:
        try:
            WAYS[scene.action].act(Case.objects.get(pk=case.pk), world.people[name], world)
            outcomes[name] = "done"
        except Exception as error:
            outcomes[name] = type(error).__name__

    assert outcomes == dict.fromkeys(refused, "NotPermitted")
    assert snapshot(case) == before


@pytest.mark.parametrize("name", ["li", "sun"])
def test_it_refuses_a_note_from_staff_who_cannot_see_the_case(
    case_in: Callable[[str], Case], request: pytest.FixtureRequest, name: str
) -> None:
    case = case_in("dispatched")
    outsider: User = request.getfixturevalue(name)
    before = snapshot(case)

    with pytest.raises(NotPermitted):
        services.case_note(case=case, actor=outsider, text="随便写点什么")

    assert snapshot(case) == before


# --- through HTTP ------------------------------------------------------------------------------

CASES = "/api/v1/cases"


def call(client: Client, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, data=json.dumps(body or {}), content_type="application/json")
    return response.status_code, response.json()


BODIES: dict[Action, dict[str, Any]] = {
    Action.ACCEPT: {},
    Action.REJECT: {"reason": "不属于受理范围"},
    Action.DISPATCH: {"lead": "D-CG"},
    Action.ACKNOWLEDGE: {},
    Action.RETURN: {"reason": "非本单位职责"},
    Action.REQUEST_EXTENSION: {"days": 3, "reason": "需协调"},
    Action.APPROVE_EXTENSION: {},
    Action.DENY_EXTENSION: {"reason": "理由不足"},
    Action.ESCALATE: {},
    Action.SUMMON: {"units": ["D-SW"]},
    Action.RESOLVE: {"result": "已处理"},
    Action.EVALUATE: {"solved": True, "satisfaction": "satisfied"},
    Action.REOPEN: {"reason": "复核未通过"},
    Action.CLOSE: {},
    Action.MERGE: {},  # "into" is added at run time
    Action.WITHDRAW: {"reason": "已自行解决"},
    Action.SUPERVISE: {"note": "请加快办理"},
    Action.NOTE: {"text": "已电话联系"},
    Action.REQUEST_EXCLUSION: {"reason": "malicious", "note": "同一人反复恶意投诉"},
    Action.EXCLUDE: {"decision": "approve"},
    Action.REFUSE_EXCLUSION: {"decision": "refuse", "note": "证据不足"},
}
# Exclusions are served beside the actions: a decision names the request it decides.
ROUTES: dict[Action, str] = {
    Action.REQUEST_EXCLUSION: CASES + "/{number}/exclusions",
    Action.EXCLUDE: CASES + "/{number}/exclusions/{exclusion_id}/decision",
    Action.REFUSE_EXCLUSION: CASES + "/{number}/exclusions/{exclusion_id}/decision",
}


def route_of(action: Action) -> str:
    return ROUTES.get(action, CASES + "/{number}/actions/" + action.value)


def url_of(action: Action, case: Case) -> str:
    waiting = pending_exclusion(case=case)
    return route_of(action).format(number=case.number, exclusion_id=waiting.pk if waiting else 0)


# (scene of MATRIX, who asks, expected status): one who sees the case but lacks the right (403),
# one who does not see it at all (404), for every action endpoint.
BY_ID = {s.id: s for s in MATRIX}
HTTP_REFUSALS: list[tuple[str, str, int]] = [
    ("accept-plain-submitted", "supervisor", 403),
    ("accept-plain-submitted", "li", 404),
    ("reject-plain-submitted", "wang", 403),
    ("reject-plain-submitted", "sun", 404),
    ("dispatch-plain-accepted", "leader", 403),
    ("dispatch-plain-accepted", "chen", 404),
    ("acknowledge-plain-dispatched", "centre", 403),
    ("acknowledge-plain-dispatched", "sun", 404),
    ("return-plain-dispatched", "supervisor", 403),
    ("return-plain-dispatched", "li", 404),
    ("request_extension-plain-dispatched", "zhao", 403),
    ("request_extension-plain-dispatched", "sun", 404),
    ("approve_extension-plain-dispatched", "chen", 403),
    ("approve_extension-plain-dispatched", "li", 404),
    ("deny_extension-plain-dispatched", "leader", 403),
    ("deny_extension-plain-dispatched", "sun", 404),
    ("escalate-plain-dispatched", "centre", 403),
    ("escalate-plain-dispatched", "li", 404),
    ("summon-community-dispatched", "qian", 403),
    ("summon-community-dispatched", "chen", 404),
    ("resolve-plain-in_progress", "wang", 403),
    ("resolve-plain-in_progress", "sun", 404),
    ("evaluate-plain-resolved", "chen", 403),
    ("evaluate-plain-resolved", "li", 404),
    ("reopen-plain-resolved", "leader", 403),
    ("reopen-plain-resolved", "sun", 404),
    ("close-plain-resolved", "wang", 403),
    ("close-plain-resolved", "li", 404),
    ("merge-plain-submitted", "wang", 403),
    ("merge-plain-submitted", "li", 404),
    ("withdraw-plain-dispatched", "chen", 403),
    ("withdraw-plain-dispatched", "sun", 404),
    ("supervise-plain-dispatched", "chen", 403),
    ("supervise-plain-dispatched", "li", 404),
    ("note-plain-dispatched", "integrator", 403),
    ("note-plain-dispatched", "sun", 404),
    ("request_exclusion-plain-dispatched", "supervisor", 403),
    ("request_exclusion-plain-dispatched", "li", 404),
    ("exclude-plain-closed", "chen", 403),
    ("exclude-plain-closed", "sun", 404),
    ("refuse_exclusion-plain-dispatched", "leader", 403),
    ("refuse_exclusion-plain-dispatched", "li", 404),
]
ERROR_CODES = {403: "forbidden", 404: "not_found"}


def merge_target(world: World, asker: str) -> str:
    """A case the asker can see, so only the merged case's own visibility decides the answer."""
    place = world.town.neighbour_grid if asker == "li" else world.town.grid
    return world.new_case(place=place, building=None).number


@pytest.mark.parametrize(
    ("scene_id", "asker", "expected"), HTTP_REFUSALS, ids=[f"{s}-{a}" for s, a, _ in HTTP_REFUSALS]
)
def test_it_answers_a_refused_action_with_403_or_404(
    world: World, scene_id: str, asker: str, expected: int
) -> None:
    scene = BY_ID[scene_id]
    case = scene.build(world)
    assert (asker in scene.sees) == (expected == 403)
    body = dict(BODIES[scene.action])
    if scene.action == Action.MERGE:
        body["into"] = merge_target(world, asker)
    before = snapshot(case)

    status, answer = call(api_client(world.people[asker]), "post", url_of(scene.action, case), body)

    assert status == expected, answer
    assert answer["error"]["code"] == ERROR_CODES[expected]
    assert answer["error"]["message"]
    assert snapshot(case) == before


def test_it_answers_an_action_the_state_forbids_with_409(world: World) -> None:
    case = world.build("plain", S.ACCEPTED)

    status, answer = call(api_client(world.people["centre"]), "post", f"{CASES}/{case.number}/actions/accept")

    assert status == 409
    assert answer["error"]["code"] == "conflict"


def test_it_hides_a_case_from_someone_who_cannot_see_it(world: World) -> None:
    case = world.build("plain", S.SUBMITTED)

    status, answer = call(api_client(world.people["li"]), "get", f"{CASES}/{case.number}")

    assert (status, answer["error"]["code"]) == (404, "not_found")


OTHER_REFUSALS: dict[tuple[str, str], str] = {
    ("post", CASES): "test_it_refuses_intake_without_credentials",
    ("get", CASES): "test_it_refuses_the_list_without_credentials",
    ("get", CASES + "/{number}"): "test_it_hides_a_case_from_someone_who_cannot_see_it",
}


def test_it_refuses_intake_without_credentials(town: Any) -> None:
    status, answer = call(
        Client(), "post", CASES, {"kind": "help", "description": "路灯坏了", "grid": "XC-S1-C1-G1"}
    )

    assert (status, answer["error"]["code"]) == (401, "unauthenticated")
    assert not Case.objects.exists()


def test_it_refuses_the_list_without_credentials(db: None) -> None:
    status, answer = call(Client(), "get", CASES)

    assert (status, answer["error"]["code"]) == (401, "unauthenticated")


def test_it_has_a_refusal_test_for_every_case_endpoint() -> None:
    routes = {
        (method, path)
        for path, operations in api.get_openapi_schema()["paths"].items()
        if path == CASES or path.startswith(CASES + "/")
        for method in operations
    }
    exercised = set(OTHER_REFUSALS)
    for scene_id, _asker, _expected in HTTP_REFUSALS:
        exercised.add(("post", route_of(BY_ID[scene_id].action)))
    both = {BY_ID[scene_id].action for scene_id, _a, expected in HTTP_REFUSALS if expected == 403} & {
        BY_ID[scene_id].action for scene_id, _a, expected in HTTP_REFUSALS if expected == 404
    }

    assert routes - exercised == set(), "endpoints without a permission test"
    assert both == set(ACTIONS), "every action endpoint needs both a 403 and a 404 test"
    assert all(name in globals() for name in OTHER_REFUSALS.values())
