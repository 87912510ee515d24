"""The main path through the HTTP API: submit, accept, dispatch, acknowledge, resolve, evaluate."""

from __future__ import annotations

import json

from civicgrid.accounts.models import User
from tests.conftest import Town, api_client


def post(client, path: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_it_carries_a_case_from_intake_to_closure(
    town: Town, integrator: User, centre: User, chen: User
) -> None:
    app, desk, handler = api_client(integrator), api_client(centre), api_client(chen)

    created = post(
        app,
        "/api/v1/cases",
        {
            "kind": "complaint",
            "description": "门前占道摆摊",
            "grid": town.grid.code,
            "item": "ZHZF-301",
            "reporter": {"name": "张三", "phone": "13812341234"},
        },
    )
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    assert created.json()["tracking_code"]

    assert post(desk, f"/api/v1/cases/{number}/actions/accept", {}).status_code == 200
    dispatched = post(desk, f"/api/v1/cases/{number}/actions/dispatch", {"lead": "D-CG"})
    assert dispatched.status_code == 200, dispatched.content
    assert handler.get(f"/api/v1/cases/{number}").json()["allowed_actions"][:2] == ["acknowledge", "return"]
    assert post(handler, f"/api/v1/cases/{number}/actions/acknowledge", {}).status_code == 200
    resolved = post(handler, f"/api/v1/cases/{number}/actions/resolve", {"result": "已劝离"})
    assert resolved.json()["status"] == "resolved"
    rated = post(
        app, f"/api/v1/cases/{number}/actions/evaluate", {"solved": True, "satisfaction": "satisfied"}
    )

    assert rated.status_code == 200, rated.content
    body = rated.json()
    assert body["status"] == "closed"
    assert [e["action"] for e in body["events"]] == [
        "create",
        "accept",
        "dispatch",
        "acknowledge",
        "resolve",
        "evaluate",
    ]
    assert [e["seq"] for e in body["events"]] == [1, 2, 3, 4, 5, 6]
