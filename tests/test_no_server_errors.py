"""Bad input anywhere gets a clear answer, never a server error: every page, action and API call."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from civicgrid.accounts.models import User
from civicgrid.cases.models import Case
from civicgrid.cases.services.exclusions import case_request_exclusion
from civicgrid.cases.states import USER_ACTIONS
from tests.conftest import Town, api_client
from tests.test_permissions import route_of

GARBAGE = {
    "reason": "",
    "days": "999",
    "lead": "NOPE",
    "assist": ["NOPE"],
    "units": ["XC"],
    "into": "NOPE",
    "satisfaction": "bad",
    "solved": "maybe",
    "result": "",
    "text": "",
    "note": "",
    "item": "NOPE",
    "phone": "abc",
    "version": "abc",
    "file": "x",
}


def page_routes() -> Iterator[str]:
    def walk(resolver: URLResolver, prefix: str) -> Iterator[str]:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    skip = ("admin", "api/", "open311")  # covered by their own tests
    yield from (route for route in walk(get_resolver(), "") if not route.startswith(skip))


def concrete(route: str, case: Case, town: Town) -> str:
    url = "/" + route
    for name, value in {
        "number": case.number,
        "token": town.building.token,
        "code": case.tracking_code,
    }.items():
        url = re.sub(rf"<(?:\w+:)?{name}>", value, url)
    url = re.sub(r"<(?:\w+:)?action>", "resolve", url)
    return re.sub(r"<[^>]+>", "1", url)


def test_it_never_answers_500_on_any_page(
    town: Town, case_in: Callable[[str], Case], centre: User, chen: User, wang: User, supervisor: User
) -> None:
    case = case_in("in_progress")
    routes = list(page_routes())
    assert {"m/", "console/", "console/hotline/", "console/setup/"} <= set(routes)  # the walk found the pages
    failures = []
    for user in [None, centre, chen, wang, supervisor]:
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        for route in routes:
            url = concrete(route, case, town)
            for response in (client.get(url, GARBAGE), client.post(url, GARBAGE)):
                if response.status_code >= 500:
                    failures.append((user and user.username, url, response.status_code))
    assert not failures


@pytest.mark.parametrize(
    "status", ["submitted", "accepted", "dispatched", "in_progress", "resolved", "closed"]
)
def test_it_never_answers_500_to_a_page_action(
    status: str, case_in: Callable[[str], Case], centre: User, chen: User, wang: User, supervisor: User
) -> None:
    case = case_in(status)
    failures = []
    for user in [centre, chen, wang, supervisor]:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for action in USER_ACTIONS:
            for url in (
                f"/console/cases/{case.number}/actions/{action}/",
                f"/m/cases/{case.number}/{action}/",
            ):
                for data in ({}, GARBAGE):
                    if client.post(url, data).status_code >= 500:
                        failures.append((user.username, url, bool(data)))
    assert not failures


@pytest.mark.parametrize("status", ["accepted", "in_progress", "resolved"])
def test_it_answers_every_bad_api_action_with_the_error_shape(
    status: str, case_in: Callable[[str], Case], centre: User, chen: User, supervisor: User, zhao: User
) -> None:
    case = case_in(status)
    # A request waits, so a decision names a real one (and asking again meets one waiting).
    waiting = case_request_exclusion(case=case, actor=zhao, reason="duplicate", note="重复诉求")
    request_id = waiting.exclusion_requests.get().pk
    bodies = [
        "",
        "[]",
        "null",
        "{}",
        json.dumps({"reason": 5, "days": "x", "lead": ["a"], "units": "D-CG", "into": 1}),
    ]
    failures = []
    for user in [centre, chen, supervisor]:
        client = api_client(user)
        urls = [route_of(a).format(number=case.number, exclusion_id=request_id) for a in USER_ACTIONS]
        urls += [f"/api/v1/cases/{case.number}/exclusions/{bad}/decision" for bad in ("abc", "9" * 30, "-1")]
        for url in urls:
            for body in bodies:
                response = client.post(url, data=body, content_type="application/json")
                if response.status_code != 200 and "error" not in response.json():
                    failures.append((user.username, url, body[:20], response.status_code))
    assert not failures


def test_it_answers_bad_list_parameters_with_400_not_500(centre: User) -> None:
    client = api_client(centre)

    for query in ["?cursor=%25%25", "?created_from=yesterday", "?overdue=maybe", "?owner=NOPE", "?limit=abc"]:
        response = client.get("/api/v1/cases" + query)
        assert response.status_code == 400, (query, response.status_code)
        assert "error" in response.json()


def test_it_answers_bad_stats_parameters_with_4xx_not_500(centre: User) -> None:
    client = api_client(centre)
    queries = [
        "",
        "?from=&to=",
        "?from=yesterday&to=tomorrow",
        "?from=2026-10-01&to=2026-02-30",
        "?from=0001-01-01&to=0001-01-02",
        "?from=9999-12-31T23:00:00-10:00&to=9999-12-31T23:30:00-10:00",
        "?from=99999999999999999999&to=1",
        "?from=2026-10-01&to=2026-11-01&place=%00",
        "?from=2026-10-01&to=2026-11-01&place=" + "X" * 5000,
        "?from=2026-10-01&to=2026-11-01&place=D-CG",
    ]

    for query in queries:
        response = client.get("/api/v1/stats" + query)
        assert 400 <= response.status_code < 500, (query, response.status_code)
        assert "error" in response.json()
