"""Query budgets: intake, detail and list stay within a fixed number of queries, whatever the size."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicgrid.accounts.models import User
from civicgrid.cases.models import Case
from civicgrid.cases.services.exclusions import case_request_exclusion
from tests.conftest import CaseMaker, Town, api_client


def test_it_creates_a_case_within_its_query_budget(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    body = json.dumps({"kind": "help", "description": "路灯不亮", "grid": town.grid.code, "item": "ZHZF-301"})

    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/cases", data=body, content_type="application/json")

    # Inside the test's transaction the reference cache stores nothing, so this is the cold path:
    # token, item, grid, posts, case, event, counter, number, savepoint and its release, and the
    # webhook list when its own cache is cold. The new case is answered without reading it back.
    assert response.status_code == 201
    assert len(queries) <= 11, [q["sql"][:80] for q in queries]


@pytest.mark.django_db(transaction=True)
def test_it_creates_a_case_in_four_queries_once_the_reference_cache_is_warm(town: Town, centre: User) -> None:
    cache.clear()
    client = api_client(centre)
    body = json.dumps(
        {
            "kind": "help",
            "description": "路灯不亮",
            "grid": town.grid.code,
            "item": "ZHZF-301",
            "building": "B-0001",
        }
    )
    assert client.post("/api/v1/cases", data=body, content_type="application/json").status_code == 201

    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/cases", data=body, content_type="application/json")

    # Token, caller's reach, item, grid and building come from the cache: the case, its event, the
    # day counter and the case's number are all that is left (besides BEGIN and COMMIT, which
    # SQLite lists).
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("BEGIN", "COMMIT"))]
    assert response.status_code == 201
    assert len(statements) <= 4, [sql[:80] for sql in statements]
    cache.clear()


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


def test_it_shows_a_case_to_the_units_and_the_supervisor_of_an_exclusion_within_budget(
    case_in: Callable[[str], Case], zhao: User, chen: User, supervisor: User
) -> None:
    case = case_in("closed")
    budgets = {}

    for user in (zhao, chen):  # both may ask: the community holding the place, the lead unit
        client = api_client(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/cases/{case.number}")
        assert "request_exclusion" in response.json()["allowed_actions"]
        budgets[user.username] = len(queries)
    case_request_exclusion(case=case, actor=zhao, reason="duplicate", note="与上月诉求重复")
    client = api_client(supervisor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/cases/{case.number}")
    budgets[supervisor.username] = len(queries)

    assert response.json()["pending_exclusion"] is not None
    assert all(used <= 7 for used in budgets.values()), budgets
