"""考核剔除 through HTTP: the API's two endpoints and the console's forms, badge and queue."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.test import Client

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.cases.models import Case, ExclusionRequest
from civicgrid.cases.services.exclusions import case_refuse_exclusion
from tests.conftest import Town, api_client
from tests.console_support import action_url, console, fresh, page
from tests.test_exclusions import ask

CaseIn = Callable[[str], Case]


# --- through the API ----------------------------------------------------------------------------

CASES = "/api/v1/cases"


def post(client: Client, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_it_asks_and_approves_through_the_api(case_in: CaseIn, qian: User, supervisor: User) -> None:
    case = case_in("closed")

    status, asked = post(
        api_client(qian),
        f"{CASES}/{case.number}/exclusions",
        {"reason": "duplicate", "note": "与上月诉求重复"},
    )
    assert status == 200, asked
    waiting = asked["pending_exclusion"]
    assert (waiting["unit"], waiting["reason"], waiting["note"]) == ("XC-S1", "duplicate", "与上月诉求重复")
    assert (asked["status"], asked["excluded"]) == ("closed", False)

    status, decided = post(
        api_client(supervisor),
        f"{CASES}/{case.number}/exclusions/{waiting['id']}/decision",
        {"decision": "approve"},
    )

    assert status == 200, decided
    assert (decided["status"], decided["excluded"], decided["pending_exclusion"]) == ("closed", True, None)
    assert decided["excluded_at"] is not None
    assert [e["action"] for e in decided["events"]][-2:] == ["request_exclusion", "exclude"]


def test_it_answers_a_decided_or_unknown_request_with_409_or_404(
    case_in: CaseIn, zhao: User, supervisor: User
) -> None:
    case = ask(case_in("closed"), zhao)
    first = ExclusionRequest.objects.get()
    case_refuse_exclusion(case=case, actor=supervisor, note="证据不足")
    other = ask(case_in("closed"), zhao)
    client = api_client(supervisor)

    decided = post(client, f"{CASES}/{case.number}/exclusions/{first.pk}/decision", {"decision": "approve"})
    elsewhere = post(
        client,
        f"{CASES}/{case.number}/exclusions/{other.exclusion_requests.get().pk}/decision",
        {"decision": "approve"},
    )

    assert (decided[0], decided[1]["error"]["code"]) == (409, "conflict")
    assert (elsewhere[0], elsewhere[1]["error"]["code"]) == (404, "not_found")
    assert fresh(case).excluded_at is None and fresh(other).excluded_at is None


def test_it_answers_a_refusal_without_a_note_with_400(case_in: CaseIn, zhao: User, supervisor: User) -> None:
    case = ask(case_in("resolved"), zhao)
    pk = ExclusionRequest.objects.get().pk

    status, answer = post(
        api_client(supervisor), f"{CASES}/{case.number}/exclusions/{pk}/decision", {"decision": "refuse"}
    )

    assert status == 400
    assert answer["error"]["message"]
    assert ExclusionRequest.objects.get().status == ExclusionRequest.Status.PENDING


# --- the console --------------------------------------------------------------------------------


def tab(html: str, label: str) -> int | None:
    found = re.search(rf">{label}<span class=\"count\">(\d+)</span>", html)
    return int(found.group(1)) if found else None


def test_it_asks_from_the_case_page_and_the_supervisor_decides_from_the_queue(
    case_in: CaseIn, zhao: User, supervisor: User, centre: User
) -> None:
    case = case_in("closed")
    response = console(zhao).post(
        action_url(case, "request_exclusion"),
        {"reason": "malicious", "note": "恶意拨打", "version": case.version},
    )
    assert response.status_code == 302

    queue = page(console(supervisor).get("/console/?tab=exclusions"))
    shown = page(console(supervisor).get(f"/console/cases/{case.number}/"))
    assert tab(queue, "考核剔除") == 1 and case.number in queue
    assert tab(page(console(centre).get("/console/")), "考核剔除") is None  # the supervisor's queue
    assert "申请考核剔除（恶意诉求），待审核" in shown and "批准剔除" in shown

    response = console(supervisor).post(
        action_url(case, "exclude"), {"note": "", "version": fresh(case).version}
    )

    assert response.status_code == 302
    assert tab(page(console(supervisor).get("/console/")), "考核剔除") == 0
    assert "已剔除考核" in page(console(supervisor).get(f"/console/cases/{case.number}/"))
    assert "已剔除考核" in page(console(supervisor).get("/console/?tab=all"))
    assert "剔除理由：恶意诉求" in page(console(zhao).get(f"/console/cases/{case.number}/"))


def test_it_keeps_the_form_and_its_error_when_a_refusal_gives_no_reason(
    case_in: CaseIn, zhao: User, supervisor: User
) -> None:
    case = ask(case_in("closed"), zhao)

    response = console(supervisor).post(action_url(case, "refuse_exclusion"), {"note": ""})

    assert response.status_code == 400
    assert "此项必填" in page(response)
    assert fresh(case).exclusion_requested_at is not None


def test_it_asks_which_unit_only_when_several_count_the_case(case_in: CaseIn, zhao: User, town: Town) -> None:
    case = case_in("closed")
    post_grant(user=zhao, unit=town.street, role=Role.STREET_LIAISON)
    zhao = User.objects.get(pk=zhao.pk)

    html = page(console(zhao).get(f"/console/cases/{case.number}/"))

    assert 'name="unit"' in html.split('id="action-request_exclusion"')[1].split("</details>")[0]
