"""The grid worker's phone pages: what needs me now, 随手拍 (idempotent, on the spot), acting on a case."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.cases import services
from civicgrid.cases.errors import CaseChangedMeanwhile
from civicgrid.cases.models import Assignment, AssignmentRole, AssignmentStatus, Attachment, Case, Event
from civicgrid.cases.states import Status
from civicgrid.intake import selectors_mobile
from civicgrid.org.models import Building, Unit
from tests.conftest import CaseMaker, Town, at

JSON = {"X-Requested-With": "fetch", "Accept": "application/json"}


def jpeg(colour: str = "red") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="JPEG")
    return SimpleUploadedFile(f"{colour}.jpg", out.getvalue(), content_type="image/jpeg")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(response: Any) -> str:
    text: str = response.content.decode()
    return text


def dispatched_to(unit: Unit, new_case: CaseMaker, centre: User, **fields: Any) -> Case:
    case = new_case(**fields)
    services.case_accept(case=case, actor=centre)
    return services.case_dispatch(case=case, actor=centre, lead=unit)


def snap_fields(town: Town, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "draft_id": str(uuid.uuid4()),
        "building": str(town.building.pk),
        "kind": "help",
        "description": "西里1号楼东侧井盖缺失",
        "photos": jpeg(),
    }
    fields.update(overrides)
    return fields


# -- who may open the pages -------------------------------------------------------------------------

PAGES = ["/m/", "/m/snap/", "/m/drafts/"]


@pytest.mark.parametrize("url", PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(url: str, db: None) -> None:
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_it_refuses_the_phone_pages_to_staff_without_a_phone_post(url: str, centre: User, chen: User) -> None:
    for person in (centre, chen):
        response = signed_in(person).get(url)

        assert response.status_code == 403
        assert "此页面供网格员" in page(response)


def test_it_answers_an_expired_session_of_a_script_with_json_401(db: None) -> None:
    response = Client().post("/m/snap/", {}, headers=JSON)

    assert response.status_code == 401
    assert "errors" in response.json()


def test_it_opens_the_phone_pages_to_a_volunteer_without_on_the_spot_handling(town: Town) -> None:
    informant = User.objects.create_user(username="xin", password="pw-for-tests-1")
    post_grant(user=informant, unit=town.grid, role=Role.INFORMANT)

    response = signed_in(informant).get("/m/snap/")

    assert response.status_code == 200
    assert 'name="on_the_spot"' not in page(response)


# -- home: what needs me now --------------------------------------------------------------------------


def test_it_lists_cases_of_my_grid_and_not_of_the_neighbouring_grid(
    town: Town, wang: User, li: User, centre: User, new_case: CaseMaker
) -> None:
    mine = dispatched_to(town.grid, new_case, centre)
    theirs = dispatched_to(town.neighbour_grid, new_case, centre, place=town.neighbour_grid, building=None)

    response = signed_in(wang).get("/m/")

    assert response.status_code == 200
    assert mine.number in page(response)
    assert theirs.number not in page(response)
    assert f"/m/cases/{mine.number}/acknowledge/" in page(response)  # the one-tap 签收
    assert 'class="tabbar"' in page(response)


def test_it_lists_overdue_cases_first(town: Town, wang: User, centre: User, new_case: CaseMaker) -> None:
    with time_machine.travel(at("2025-03-03 10:00"), tick=False):
        on_time = dispatched_to(town.grid, new_case, centre)  # 7 working days
    with time_machine.travel(at("2025-03-04 10:00"), tick=False):
        late = dispatched_to(town.grid, new_case, centre, item=town.urgent_item)  # 1 working day

    with time_machine.travel(at("2025-03-07 12:00"), tick=False):
        html = page(signed_in(wang).get("/m/"))

    assert html.index(late.number) < html.index(on_time.number)
    assert html.count("已超期") == 1


def test_it_lists_the_most_urgent_tasks_and_says_how_many_wait(
    town: Town, wang: User, centre: User, new_case: CaseMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors_mobile, "TASK_LIMIT", 2)
    for _ in range(3):
        dispatched_to(town.grid, new_case, centre)

    html = page(signed_in(wang).get("/m/"))

    assert html.count("/acknowledge/") == 2
    assert "共 3 件，这里列出最紧急的 2 件。" in html


def test_it_keeps_the_home_page_within_its_query_budget(
    town: Town, wang: User, centre: User, new_case: CaseMaker, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(wang)
    for _ in range(5):
        dispatched_to(town.grid, new_case, centre)

    # Fixed reads (session, posts, lists) plus the shortcuts' policy reads, a few per task.
    with django_assert_max_num_queries(12 + 3 * 5):
        client.get("/m/")


def test_it_lists_my_recent_reports_newest_first(town: Town, wang: User, new_case: CaseMaker) -> None:
    with time_machine.travel(at("2025-03-03 10:00"), tick=False):
        older = new_case(actor=wang, channel="grid_app")
    with time_machine.travel(at("2025-03-03 11:00"), tick=False):
        newer = new_case(actor=wang, channel="grid_app")

    html = page(signed_in(wang).get("/m/"))

    assert html.index(newer.number) < html.index(older.number)


# -- 随手拍 -----------------------------------------------------------------------------------------------


def test_it_offers_a_camera_first_form_with_only_my_grids_buildings(town: Town, wang: User) -> None:
    Building.objects.create(grid=town.neighbour_grid, code="B-0002", name="西里2号楼")

    html = page(signed_in(wang).get("/m/snap/"))

    assert 'capture="environment"' in html and 'accept="image/*"' in html and "multiple" in html
    assert 'name="draft_id"' in html and 'accept="audio/*"' in html
    assert "西里1号楼" in html and "西里2号楼" not in html


def test_it_creates_a_proactive_grid_app_case_from_a_plain_form_post(town: Town, wang: User) -> None:
    response = signed_in(wang).post("/m/snap/", snap_fields(town))

    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/m/cases/{case.number}/"
    assert (case.proactive, case.channel, case.place, case.building) == (
        True,
        "grid_app",
        town.grid,
        town.building,
    )
    assert case.created_by == wang and case.status == Status.SUBMITTED
    photo = Attachment.objects.get(case=case)
    assert photo.kind == "photo" and photo.event is not None and photo.event.action == "create"


def test_it_creates_one_case_when_the_same_draft_arrives_twice(town: Town, wang: User) -> None:
    client = signed_in(wang)
    fields = snap_fields(town)

    first = client.post("/m/snap/", fields)
    second = client.post("/m/snap/", {**fields, "photos": jpeg()})

    assert Case.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_it_refuses_a_changed_body_under_a_used_draft_id(town: Town, wang: User) -> None:
    client = signed_in(wang)
    fields = snap_fields(town)
    client.post("/m/snap/", fields)

    response = client.post("/m/snap/", {**fields, "photos": jpeg(), "description": "另一件事"})

    assert response.status_code == 400
    assert "内容与上次不同" in page(response)
    assert Case.objects.count() == 1


def test_it_handles_a_small_thing_on_the_spot_in_the_same_post(town: Town, wang: User) -> None:
    fields = snap_fields(town, on_the_spot="on", result="已找物业补上井盖", after_photos=jpeg("green"))

    response = signed_in(wang).post("/m/snap/", fields, follow=True)

    case = Case.objects.get()
    assert case.status == Status.RESOLVED
    assert "已就地办结" in page(response)
    lead = Assignment.objects.get(case=case)
    assert (lead.unit, lead.role, lead.status) == (town.grid, AssignmentRole.LEAD, AssignmentStatus.RESOLVED)
    resolve = Event.objects.get(case=case, action="resolve")
    assert list(resolve.attachments.values_list("kind", flat=True)) == ["photo"]
    assert list(case.events.values_list("action", flat=True)) == ["create", "accept", "resolve"]


def test_it_tells_the_worker_when_on_the_spot_handling_stopped_halfway_and_a_retry_finishes_it(
    town: Town, wang: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in(wang)
    fields = snap_fields(town, on_the_spot="on", result="已清理")
    real_resolve = services.case_resolve

    def beaten(**kwargs: Any) -> Case:
        raise CaseChangedMeanwhile(kwargs["case"].number)

    monkeypatch.setattr(services, "case_resolve", beaten)
    halfway = client.post("/m/snap/", fields, follow=True)
    monkeypatch.setattr(services, "case_resolve", real_resolve)
    retried = client.post("/m/snap/", {**fields, "photos": jpeg()}, follow=True)

    case = Case.objects.get()
    assert "未能就地办结" in page(halfway) and case.number in page(halfway)
    assert halfway.redirect_chain[-1][0] == f"/m/cases/{case.number}/"
    assert "已就地办结" in page(retried)
    assert list(case.events.values_list("action", flat=True)) == ["create", "accept", "resolve"]


def test_it_does_not_resolve_twice_when_a_handled_draft_is_retried(town: Town, wang: User) -> None:
    client = signed_in(wang)
    fields = snap_fields(town, on_the_spot="on", result="已清理")
    client.post("/m/snap/", fields)

    client.post("/m/snap/", {**fields, "photos": jpeg()})

    assert Event.objects.filter(action="resolve").count() == 1


def test_it_refuses_a_forged_photo_keeping_what_was_typed(town: Town, wang: User) -> None:
    forged = SimpleUploadedFile("cat.jpg", b"<?php system($_GET['c']); ?>", content_type="image/jpeg")

    response = signed_in(wang).post("/m/snap/", snap_fields(town, photos=forged))

    assert response.status_code == 400
    assert "cat.jpg" in page(response) and "不是可识别的照片" in page(response)
    assert "西里1号楼东侧井盖缺失" in page(response)
    assert Case.objects.count() == 0


def test_it_refuses_a_forged_after_photo_before_creating_anything(town: Town, wang: User) -> None:
    forged = SimpleUploadedFile("after.jpg", b"GIF89a-but-not-really", content_type="image/jpeg")
    fields = snap_fields(town, on_the_spot="on", result="已清理", after_photos=forged)

    response = signed_in(wang).post("/m/snap/", fields)

    assert response.status_code == 400
    assert "after.jpg" in page(response) and "已清理" in page(response)
    assert Case.objects.count() == 0


def test_it_places_a_report_without_building_in_the_chosen_grid(town: Town, centre: User) -> None:
    leader = User.objects.create_user(username="gao", password="pw-for-tests-1")
    post_grant(user=leader, unit=town.community, role=Role.GRID_LEADER)  # both grids of 西里社区
    client = signed_in(leader)

    form = page(client.get("/m/snap/"))
    client.post("/m/snap/", snap_fields(town, building="", grid=str(town.neighbour_grid.pk)))

    assert 'name="grid"' in form and "西里二网格" in form and "东里一网格" not in form
    case = Case.objects.get()
    assert (case.place, case.building) == (town.neighbour_grid, None)


def test_it_refuses_a_building_outside_my_grids(town: Town, li: User) -> None:
    response = signed_in(li).post("/m/snap/", snap_fields(town))

    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_it_asks_for_text_or_voice(town: Town, wang: User) -> None:
    response = signed_in(wang).post("/m/snap/", snap_fields(town, description=""))

    assert response.status_code == 400
    assert "请填写情况说明，或录一段语音" in page(response)
    assert Case.objects.count() == 0


def test_it_accepts_a_voice_report_without_text(town: Town, wang: User) -> None:
    voice = SimpleUploadedFile("voice.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 64, content_type="audio/webm")

    signed_in(wang).post("/m/snap/", snap_fields(town, description="", voice=voice))

    case = Case.objects.get()
    assert sorted(case.attachments.values_list("kind", flat=True)) == ["photo", "voice"]


def test_it_refuses_on_the_spot_handling_outside_my_grids(town: Town, centre: User) -> None:
    informant = User.objects.create_user(username="xin", password="pw-for-tests-1")
    post_grant(user=informant, unit=town.grid, role=Role.INFORMANT)
    fields = snap_fields(town, on_the_spot="on", result="已清理")

    response = signed_in(informant).post("/m/snap/", fields)

    assert response.status_code == 400
    assert "只有本网格的网格员可以就地办结" in page(response)
    assert Case.objects.count() == 0


def test_it_answers_scripts_with_201_and_the_case(town: Town, wang: User) -> None:
    client = signed_in(wang)
    fields = snap_fields(town)

    created = client.post("/m/snap/", fields, headers=JSON)
    replayed = client.post("/m/snap/", {**fields, "photos": jpeg()}, headers=JSON)

    case = Case.objects.get()
    assert created.status_code == 201
    assert created.json()["number"] == case.number
    assert created.json()["url"] == f"/m/cases/{case.number}/"
    assert replayed.status_code == 200 and replayed.json()["number"] == case.number


def test_it_answers_scripts_with_400_and_the_errors_by_field(town: Town, wang: User) -> None:
    response = signed_in(wang).post(
        "/m/snap/", snap_fields(town, description="", kind="nonsense"), headers=JSON
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"description", "kind"}
    assert Case.objects.count() == 0


# -- acting on a case ------------------------------------------------------------------------------------


def test_it_lets_wang_acknowledge_then_resolve_a_case_dispatched_to_his_grid(
    town: Town, wang: User, centre: User, new_case: CaseMaker
) -> None:
    case = dispatched_to(town.grid, new_case, centre)
    client = signed_in(wang)
    before = page(client.get(f"/m/cases/{case.number}/"))

    acknowledged = client.post(f"/m/cases/{case.number}/acknowledge/")
    resolved = client.post(
        f"/m/cases/{case.number}/resolve/", {"result": "已劝离摊贩", "photos": jpeg("blue")}, follow=True
    )

    case.refresh_from_db()
    assert 'id="act-acknowledge"' in before and 'id="act-resolve"' not in before
    assert acknowledged.status_code == 302
    assert case.status == Status.RESOLVED
    assert "已办结" in page(resolved)
    photo = Attachment.objects.get(case=case)
    assert photo.event is not None and photo.event.action == "resolve"


def test_it_hides_a_case_of_another_grid(
    town: Town, wang: User, li: User, centre: User, new_case: CaseMaker
) -> None:
    case = dispatched_to(town.grid, new_case, centre)
    client = signed_in(li)

    assert client.get(f"/m/cases/{case.number}/").status_code == 404
    assert client.post(f"/m/cases/{case.number}/acknowledge/").status_code == 404
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED


def test_it_shows_the_error_of_a_return_without_reason(
    town: Town, wang: User, centre: User, new_case: CaseMaker
) -> None:
    case = dispatched_to(town.grid, new_case, centre)
    client = signed_in(wang)
    client.post(f"/m/cases/{case.number}/acknowledge/")

    response = client.post(f"/m/cases/{case.number}/return/", {"reason": ""})

    assert response.status_code == 400
    assert "请填写退单理由" in page(response)
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS


def test_it_returns_a_case_with_a_reason(town: Town, wang: User, centre: User, new_case: CaseMaker) -> None:
    case = dispatched_to(town.grid, new_case, centre)
    client = signed_in(wang)
    client.post(f"/m/cases/{case.number}/acknowledge/")

    client.post(f"/m/cases/{case.number}/return/", {"reason": "属于城管职责"})

    assert Case.objects.get(pk=case.pk).status == Status.ACCEPTED


def test_it_says_the_state_changed_when_an_action_no_longer_applies(
    town: Town, wang: User, centre: User, new_case: CaseMaker
) -> None:
    case = dispatched_to(town.grid, new_case, centre)
    client = signed_in(wang)
    client.post(f"/m/cases/{case.number}/acknowledge/")

    again = client.post(f"/m/cases/{case.number}/acknowledge/", follow=True)

    assert again.redirect_chain[-1][0] == f"/m/cases/{case.number}/"
    assert "状态已变化，请刷新" in page(again)


def test_it_refuses_an_action_the_worker_has_no_capacity_for(wang: User, case_in: Any, town: Town) -> None:
    case = case_in("in_progress")  # 城管 leads it; it lies in wang's grid, so he sees it

    response = signed_in(wang).post(f"/m/cases/{case.number}/resolve/", {"result": "我来办"})

    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS


def test_it_escalates_and_notes_with_photos(
    town: Town, wang: User, centre: User, new_case: CaseMaker
) -> None:
    case = dispatched_to(town.grid, new_case, centre)
    client = signed_in(wang)
    client.post(f"/m/cases/{case.number}/acknowledge/")

    client.post(f"/m/cases/{case.number}/note/", {"text": "已上门了解", "photos": jpeg()})
    client.post(f"/m/cases/{case.number}/escalate/", {"note": "需社区协调"})

    case.refresh_from_db()
    assert case.owner == town.community
    note = Event.objects.get(case=case, action="note")
    assert note.attachments.count() == 1 and not note.public


def test_it_refuses_unknown_actions_and_get_requests(
    town: Town, wang: User, centre: User, new_case: CaseMaker
) -> None:
    case = dispatched_to(town.grid, new_case, centre)
    client = signed_in(wang)

    assert client.post(f"/m/cases/{case.number}/dispatch/").status_code == 404
    assert client.get(f"/m/cases/{case.number}/acknowledge/").status_code == 405


# -- files and drafts -----------------------------------------------------------------------------------


def test_it_serves_a_photo_only_to_those_who_see_the_case(town: Town, wang: User, li: User) -> None:
    signed_in(wang).post("/m/snap/", snap_fields(town))
    photo = Attachment.objects.get()

    mine = signed_in(wang).get(f"/m/files/{photo.pk}/")
    theirs = signed_in(li).get(f"/m/files/{photo.pk}/")

    assert mine.status_code == 200 and mine["Content-Type"] == "image/jpeg"
    assert b"".join(mine.streaming_content)[:2] == b"\xff\xd8"  # type: ignore[attr-defined]
    assert theirs.status_code == 404
    assert Client().get(f"/m/files/{photo.pk}/").status_code == 302


def test_it_shows_photos_and_timeline_on_the_case_page(town: Town, wang: User) -> None:
    signed_in(wang).post("/m/snap/", snap_fields(town))
    case = Case.objects.get()
    photo = Attachment.objects.get()

    html = page(signed_in(wang).get(f"/m/cases/{case.number}/"))

    assert f"/m/files/{photo.pk}/" in html
    assert "西里1号楼东侧井盖缺失" in html and "登记" in html


def test_it_serves_the_drafts_page_that_needs_javascript(wang: User) -> None:
    html = page(signed_in(wang).get("/m/drafts/"))

    assert "<noscript>" in html and "需要启用 JavaScript" in html
    assert "data-drafts-list" in html and "drafts.js" in html
