"""The console's action forms posted without JavaScript: each action end to end, bad input, stale pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Assignment, Attachment, Case, Evaluation
from tests.conftest import CaseMaker, Town
from tests.console_support import action_url, console, fresh, jpeg, page

CaseIn = Callable[[str], Case]


def test_it_accepts_a_case_with_an_item(new_case: CaseMaker, centre: User, town: Town) -> None:
    case = new_case(item=None)

    response = console(centre).post(action_url(case, "accept"), {"item": "ZHZF-101"}, follow=True)

    assert response.redirect_chain == [(f"/console/cases/{case.number}/", 302)]
    assert "受理：已完成" in page(response)
    assert fresh(case).status == "accepted" and fresh(case).item == town.urgent_item


def test_it_dispatches_to_a_lead_and_an_assisting_unit(case_in: CaseIn, centre: User) -> None:
    case = case_in("accepted")

    response = console(centre).post(action_url(case, "dispatch"), {"lead": "D-CG", "assist": ["D-SW"]})

    assert response.status_code == 302
    roles = set(Assignment.objects.filter(case=case).values_list("unit__code", "role"))
    assert fresh(case).status == "dispatched" and roles == {("D-CG", "lead"), ("D-SW", "assist")}


def test_it_prefills_the_dispatch_lead_from_the_catalogue(case_in: CaseIn, centre: User) -> None:
    case = case_in("accepted")

    html = page(console(centre).get(f"/console/cases/{case.number}/"))

    assert re.search(r'<option value="D-CG" selected>', html.split('name="lead"')[1])


def test_it_lets_the_department_acknowledge(case_in: CaseIn, chen: User) -> None:
    case = case_in("dispatched")

    response = console(chen).post(action_url(case, "acknowledge"), {})

    assert response.status_code == 302
    assert fresh(case).status == "in_progress"


def test_it_resolves_with_a_photo(case_in: CaseIn, chen: User) -> None:
    case = case_in("in_progress")
    photo = SimpleUploadedFile("after.jpg", jpeg(), content_type="image/jpeg")

    response = console(chen).post(action_url(case, "resolve"), {"result": "已劝离摊贩", "photos": [photo]})

    assert response.status_code == 302
    assert fresh(case).status == "resolved"
    assert Attachment.objects.filter(case=case, kind="photo", event__action="resolve").count() == 1


def test_it_keeps_the_typed_result_when_a_photo_is_refused(case_in: CaseIn, chen: User) -> None:
    case = case_in("in_progress")
    forged = SimpleUploadedFile("after.jpg", b"<?php evil(); ?>", content_type="image/jpeg")

    response = console(chen).post(action_url(case, "resolve"), {"result": "已劝离摊贩", "photos": [forged]})

    assert response.status_code == 400
    assert "不是可识别的照片" in page(response) and ">\n已劝离摊贩</textarea>" in page(response)
    assert fresh(case).status == "in_progress" and not Attachment.objects.filter(case=case).exists()


def test_it_records_a_callback_evaluation(case_in: CaseIn, centre: User) -> None:
    case = case_in("resolved")

    response = console(centre).post(
        action_url(case, "evaluate"),
        {"solved": "yes", "satisfaction": "satisfied", "comment": "满意", "channel": "callback"},
    )

    assert response.status_code == 302
    evaluation = Evaluation.objects.get(case=case)
    assert (evaluation.channel, evaluation.solved, fresh(case).status) == ("callback", True, "closed")


def test_it_refuses_a_dispatch_without_lead_and_writes_nothing(case_in: CaseIn, centre: User) -> None:
    case = case_in("accepted")
    before = fresh(case).last_seq

    response = console(centre).post(action_url(case, "dispatch"), {"lead": "", "note": "急"})

    assert response.status_code == 400
    html = page(response)
    assert "请选择主办单位" in html.split('id="action-dispatch" open')[1].split("</details>")[0]
    assert fresh(case).status == "accepted" and fresh(case).last_seq == before


def test_it_refuses_a_rejection_without_reason(new_case: CaseMaker, centre: User) -> None:
    case = new_case()

    response = console(centre).post(action_url(case, "reject"), {"reason": "  "})

    assert response.status_code == 400
    assert "此项必填" in page(response).split('id="action-reject" open')[1].split("</details>")[0]
    assert fresh(case).status == "submitted" and fresh(case).last_seq == 1


def test_it_refuses_an_action_on_a_page_that_went_stale(
    new_case: CaseMaker, centre: User, supervisor: User
) -> None:
    case = new_case()
    seen = fresh(case).version
    services.case_note(case=fresh(case), actor=supervisor, text="已电话核实")  # meanwhile

    response = console(centre).post(action_url(case, "accept"), {"version": seen}, follow=True)

    assert "已被他人更新" in page(response)
    assert fresh(case).status == "submitted" and fresh(case).last_seq == 2


def test_it_explains_an_action_the_state_no_longer_allows(case_in: CaseIn, centre: User) -> None:
    case = case_in("dispatched")

    response = console(centre).post(action_url(case, "accept"), {}, follow=True)

    assert "不允许此操作" in page(response)
    assert fresh(case).status == "dispatched"


def test_it_forbids_an_action_the_user_has_no_right_to(case_in: CaseIn, chen: User) -> None:
    case = case_in("in_progress")

    response = console(chen).post(action_url(case, "close"), {})

    assert response.status_code == 403
    assert fresh(case).status == "in_progress"


def extension_waiting(case: Case, chen: User) -> None:
    services.case_request_extension(case=case, actor=chen, days=3, reason="需要协调水务")


Check = Callable[[Case], bool]
OTHER_ACTIONS: list[tuple[str, str, str, dict[str, str], Check]] = [
    ("dispatched", "chen", "return", {"reason": "不属于城管"}, lambda c: c.status == "accepted"),
    (
        "in_progress",
        "chen",
        "request_extension",
        {"days": "3", "reason": "需协调"},
        lambda c: c.extension_requests.exists(),
    ),
    ("in_progress", "chen", "escalate", {"note": "需区级协调"}, lambda c: str(c.owner) == "西城区（XC）"),
    ("resolved", "supervisor", "reopen", {"reason": "群众不满意"}, lambda c: c.status == "in_progress"),
    ("resolved", "centre", "close", {}, lambda c: c.status == "closed"),
    ("accepted", "centre", "withdraw", {"reason": "群众撤回"}, lambda c: c.status == "withdrawn"),
    ("in_progress", "supervisor", "supervise", {"note": "请加快"}, lambda c: c.supervised_at is not None),
    (
        "in_progress",
        "chen",
        "note",
        {"text": "已联系当事人"},
        lambda c: c.events.filter(public=False).exists(),
    ),
]


@pytest.mark.parametrize(
    ("status", "who", "action", "data", "changed"), OTHER_ACTIONS, ids=[row[2] for row in OTHER_ACTIONS]
)
def test_it_takes_the_other_actions_through_their_forms(
    case_in: CaseIn,
    request: pytest.FixtureRequest,
    status: str,
    who: str,
    action: str,
    data: dict[str, str],
    changed: Check,
) -> None:
    case = case_in(status)

    response = console(request.getfixturevalue(who)).post(action_url(case, action), data)

    assert response.status_code == 302, page(response)
    assert changed(fresh(case))


def test_it_decides_a_waiting_extension(case_in: CaseIn, chen: User, supervisor: User) -> None:
    approved, denied = case_in("in_progress"), case_in("in_progress")
    extension_waiting(approved, chen)
    extension_waiting(denied, chen)
    deadline = fresh(approved).resolve_by
    client = console(supervisor)

    client.post(action_url(approved, "approve_extension"), {"note": "同意"})
    client.post(action_url(denied, "deny_extension"), {"reason": "可按期办结"})

    assert fresh(approved).resolve_by > deadline  # type: ignore[operator]
    assert list(fresh(denied).extension_requests.values_list("status", flat=True)) == ["denied"]


def test_it_summons_departments_for_a_street_led_case(
    case_in: CaseIn, centre: User, qian: User, town: Town
) -> None:
    case = case_in("accepted")
    services.case_dispatch(case=case, actor=centre, lead=town.street)
    services.case_acknowledge(case=case, actor=qian)

    response = console(qian).post(action_url(case, "summon"), {"units": ["D-CG", "D-SW"], "note": "吹哨"})

    assert response.status_code == 302
    assigned = set(Assignment.objects.filter(case=case, role="assist").values_list("unit__code", flat=True))
    assert assigned == {"D-CG", "D-SW"}


def test_it_merges_into_a_visible_case_only(new_case: CaseMaker, centre: User) -> None:
    duplicate, original = new_case(), new_case()
    client = console(centre)

    unknown = client.post(action_url(duplicate, "merge"), {"into": "20990101-000001"})
    merged = client.post(action_url(duplicate, "merge"), {"into": original.number})

    assert unknown.status_code == 400 and "不存在或您无权查看" in page(unknown)
    assert merged.status_code == 302 and fresh(duplicate).merged_into == original
