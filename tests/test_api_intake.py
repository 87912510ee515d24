"""POST /api/v1/cases: idempotent intake, clear errors in the caller's language, nothing half-written."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Case, Event
from tests.conftest import Town, api_client


def post_case(client: Client, body: Any, **headers: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/v1/cases", data=data, content_type="application/json", **headers)


def test_it_returns_the_same_case_for_a_retry_with_the_same_key(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    body = {"kind": "help", "description": "楼道灯不亮", "grid": town.grid.code}

    first = post_case(client, body, HTTP_IDEMPOTENCY_KEY="draft-42")
    retry = post_case(client, body, HTTP_IDEMPOTENCY_KEY="draft-42")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json()["number"] == first.json()["number"]
    assert Case.objects.count() == 1


def test_it_refuses_the_same_key_with_another_body(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    post_case(
        client,
        {"kind": "help", "description": "楼道灯不亮", "grid": town.grid.code},
        HTTP_IDEMPOTENCY_KEY="k",
    )

    other = post_case(
        client, {"kind": "help", "description": "水管漏水", "grid": town.grid.code}, HTTP_IDEMPOTENCY_KEY="k"
    )

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_mismatch"
    assert Case.objects.count() == 1


def test_it_keeps_keys_apart_between_users(town: Town, integrator: User, centre: User) -> None:
    body = {"kind": "help", "description": "楼道灯不亮", "grid": town.grid.code}

    mine = post_case(api_client(integrator), body, HTTP_IDEMPOTENCY_KEY="same")
    theirs = post_case(api_client(centre), body, HTTP_IDEMPOTENCY_KEY="same")

    assert mine.json()["number"] != theirs.json()["number"]


def test_it_says_which_field_is_wrong_in_chinese_by_default(town: Town, integrator: User) -> None:
    response = post_case(api_client(integrator), {"kind": "help", "grid": town.grid.code})

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid", "message": "字段 description 无效：此项必填"}}


def test_it_answers_in_english_when_asked(town: Town, integrator: User) -> None:
    response = post_case(
        api_client(integrator), {"kind": "help", "grid": town.grid.code}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Field description is invalid: this field is required"


def test_it_refuses_broken_json_without_writing_anything(town: Town, integrator: User) -> None:
    response = post_case(api_client(integrator), '{"kind": "help", "description": ')

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "请求体须为 JSON 对象"
    assert not Case.objects.exists() and not Event.objects.exists()


def test_it_refuses_an_unknown_grid_and_a_building_outside_the_grid(town: Town, integrator: User) -> None:
    client = api_client(integrator)

    unknown = post_case(client, {"kind": "help", "description": "x", "grid": "NOPE"})
    elsewhere = post_case(
        client,
        {"kind": "help", "description": "x", "grid": town.far_grid.code, "building": town.building.code},
    )

    assert unknown.status_code == 400 and "grid" in unknown.json()["error"]["message"]
    assert elsewhere.status_code == 400 and "building" in elsewhere.json()["error"]["message"]
    assert not Case.objects.exists()


def test_it_places_a_case_on_the_grid_of_its_building(town: Town, integrator: User) -> None:
    response = post_case(
        api_client(integrator), {"kind": "help", "description": "x", "building": town.building.code}
    )

    assert response.status_code == 201
    assert response.json()["grid"] == town.grid.code
    assert response.json()["building"] == town.building.code


def test_it_numbers_cases_per_day_readably(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    body = {"kind": "help", "description": "x", "grid": town.grid.code}

    numbers = [post_case(client, body).json()["number"] for _ in range(3)]

    day = numbers[0].split("-")[0]
    assert numbers == [f"{day}-000001", f"{day}-000002", f"{day}-000003"]


def test_it_answers_409_when_the_case_changed_since_it_was_read(
    town: Town, integrator: User, centre: User, chen: User
) -> None:
    case = services.case_create(
        actor=integrator, new=services.NewCase(kind="help", description="x", place=town.grid, channel="api")
    )
    stale = Case.objects.get(pk=case.pk)
    services.case_accept(case=case, actor=centre)

    try:
        services.case_note(case=stale, actor=centre, text="看过了")
    except Exception as exc:  # the stale copy must lose
        assert type(exc).__name__ == "CaseChangedMeanwhile"
    else:
        raise AssertionError("a stale copy was allowed to write")
    assert Case.objects.get(pk=case.pk).last_seq == 2


def test_it_answers_409_for_an_action_the_state_does_not_allow(
    town: Town, integrator: User, centre: User
) -> None:
    case = services.case_create(
        actor=integrator, new=services.NewCase(kind="help", description="x", place=town.grid, channel="api")
    )

    response = api_client(centre).post(
        f"/api/v1/cases/{case.number}/actions/dispatch",
        data=json.dumps({"lead": "D-CG"}),
        content_type="application/json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_it_publishes_an_openapi_document_with_every_action(db: None) -> None:
    document = Client().get("/api/v1/openapi.json").json()

    paths = set(document["paths"])
    assert "/api/v1/cases" in paths
    for action in ["accept", "dispatch", "acknowledge", "return", "summon", "evaluate", "merge", "note"]:
        assert f"/api/v1/cases/{{number}}/actions/{action}" in paths
