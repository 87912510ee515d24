"""Query budgets: intake, detail and list stay within a fixed number of queries, whatever the size."""

from __future__ import annotations

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicgrid.accounts.models import User
from tests.conftest import CaseMaker, Town, api_client


def test_it_creates_a_case_within_its_query_budget(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    body = json.dumps({"kind": "help", "description": "路灯不亮", "grid": town.grid.code, "item": "ZHZF-301"})

    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/cases", data=body, content_type="application/json")

    assert response.status_code == 201
    assert len(queries) <= 11, [q["sql"][:80] for q in queries]


def test_it_lists_cases_in_a_constant_number_of_queries(new_case: CaseMaker, centre: User) -> None:
    client = api_client(centre)
    new_case()
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/cases")
    for _ in range(15):
        new_case()

    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/cases")

    assert len(response.json()["items"]) == 16
    assert len(many) == len(few)


def test_it_shows_a_case_within_its_query_budget(new_case: CaseMaker, centre: User) -> None:
    client = api_client(centre)
    case = new_case()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/cases/{case.number}")

    assert response.status_code == 200
    assert len(queries) <= 7, [q["sql"][:80] for q in queries]
