"""The staff console: who may open each page, queues and search, inbox, the case page, the hotline entry."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Attachment, Case
from civicgrid.cases.policy import allowed_actions
from civicgrid.cases.uploads import clean_upload
from tests.conftest import CaseMaker, Town
from tests.console_support import action_url, console, fresh, page, with_photo

CaseIn = Callable[[str], Case]


def forms_on(html: str) -> list[str]:
    """The actions whose forms the case page offers, in page order."""
    return re.findall(r'action="/console/cases/[^/]+/actions/(\w+)/"', html)


def dispatched_to_water(case: Case, centre: User, town: Town) -> Case:
    services.case_accept(case=case, actor=centre)
    return services.case_dispatch(case=case, actor=centre, lead=town.water)


# Who may open each page ---------------------------------------------------------------------------

PAGES = [
    "/console/",
    "/console/inbox/",
    "/console/cases/{number}/",
    "/console/files/{file}/",
    "/console/hotline/",
    "/console/hotline/history/?phone=13812341234",
    "/console/hotline/buildings/?q=西里",
]


@pytest.fixture
def urls(case_in: CaseIn, centre: User) -> list[str]:
    case = case_in("accepted")
    attachment = with_photo(case, centre)
    return [url.format(number=case.number, file=attachment.pk) for url in PAGES]


def test_it_sends_anonymous_visitors_to_the_login_page(urls: list[str]) -> None:
    for url in urls:
        response = Client().get(url)

        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_it_refuses_people_whose_workspace_is_the_phone(urls: list[str], wang: User) -> None:
    client = console(wang)
    for url in urls:
        response = client.get(url)

        assert response.status_code == 403, url
        assert "无权访问" in page(response)


def test_it_refuses_an_action_post_from_the_phone_roles(case_in: CaseIn, wang: User) -> None:
    case = case_in("submitted")

    response = console(wang).post(action_url(case, "accept"), {})

    assert response.status_code == 403
    assert fresh(case).status == "submitted"


def test_it_opens_every_page_for_the_command_centre(urls: list[str], centre: User) -> None:
    client = console(centre)
    for url in urls:
        assert client.get(url).status_code == 200, url


# Queues -------------------------------------------------------------------------------------------


def test_it_shows_the_centre_its_dispatch_queue_with_counts(
    case_in: CaseIn, new_case: CaseMaker, centre: User
) -> None:
    waiting = [new_case(), new_case(), case_in("accepted")]
    handled = case_in("in_progress")

    html = page(console(centre).get("/console/"))

    assert re.search(r'aria-current="page">待派单<span class="count">3</span>', html)
    assert all(case.number in html for case in waiting)
    assert handled.number not in html
    assert ">被退回<" in html and ">待签收<" not in html  # no handling post, no acknowledgement queue


def test_it_shows_a_department_only_its_own_cases(
    case_in: CaseIn, new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    ours = case_in("dispatched")
    theirs = dispatched_to_water(new_case(), centre, town)
    client = console(chen)

    html = page(client.get("/console/?tab=all"))

    assert ours.number in html and theirs.number not in html
    assert "待派单" not in html
    assert re.search(r">待签收<span class=\"count\">1</span>", html)
    assert client.get(f"/console/cases/{theirs.number}/").status_code == 404


def test_it_lists_returned_cases_and_waiting_extensions(
    case_in: CaseIn, centre: User, chen: User, supervisor: User
) -> None:
    returned = case_in("dispatched")
    services.case_return(case=returned, actor=chen, reason="不属于城管职责")
    extending = case_in("in_progress")
    services.case_request_extension(case=extending, actor=chen, days=3, reason="需协调")

    returned_html = page(console(centre).get("/console/?tab=returned"))
    extension_html = page(console(supervisor).get("/console/?tab=extensions"))

    assert returned.number in returned_html and extending.number not in returned_html
    assert extending.number in extension_html and returned.number not in extension_html


def test_it_searches_by_number_phone_and_text(
    new_case: CaseMaker, centre: User, case_in: CaseIn, chen: User
) -> None:
    caller = new_case(reporter=services.Reporter(name="李四", phone="13900001111"), description="路灯不亮")
    other = case_in("dispatched")
    client = console(centre)

    def found(client: Client, q: str) -> str:
        return page(client.get("/console/", {"tab": "all", "q": q}))

    assert caller.number in found(client, caller.number) and other.number not in found(client, caller.number)
    assert caller.number in found(client, "+86 139-0000-1111")
    assert other.number not in found(client, "139 0000 1111")
    assert caller.number in found(client, "路灯") and other.number not in found(client, "路灯")
    # Only the command centre may find cases by a reporter's phone number.
    assert other.number not in found(console(chen), "13812341234")


def test_it_filters_by_status_and_reports_a_bad_filter(
    case_in: CaseIn, new_case: CaseMaker, centre: User
) -> None:
    submitted, accepted = new_case(), case_in("accepted")
    client = console(centre)

    html = page(client.get("/console/", {"tab": "all", "status": "accepted"}))
    bad = client.get("/console/", {"tab": "all", "place": "NOPE"})

    assert accepted.number in html and submitted.number not in html
    assert bad.status_code == 200 and "未知单位编码 NOPE" in page(bad)


def test_it_counts_the_queues_in_a_constant_number_of_queries(
    new_case: CaseMaker, case_in: CaseIn, centre: User
) -> None:
    client = console(centre)
    new_case()
    client.get("/console/")
    with CaptureQueriesContext(connection) as few:
        client.get("/console/")
    for _ in range(6):
        new_case()
        case_in("dispatched")

    with CaptureQueriesContext(connection) as many:
        response = client.get("/console/?tab=all")

    assert response.status_code == 200
    assert len(many) == len(few), [q["sql"][:90] for q in many.captured_queries]


# Inbox --------------------------------------------------------------------------------------------


def test_it_lists_what_was_given_to_my_unit_in_the_inbox(case_in: CaseIn, chen: User, sun: User) -> None:
    case = case_in("dispatched")

    html = page(console(chen).get("/console/inbox/"))
    elsewhere = page(console(sun).get("/console/inbox/"))

    assert case.number in html and "待签收" in html
    assert 'class="badge inbox-count" title="待签收和办理中的承办任务">1<' in html
    assert case.number not in elsewhere


# Case page ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "who"),
    [
        ("submitted", "centre"),
        ("accepted", "centre"),
        ("dispatched", "chen"),
        ("in_progress", "chen"),
        ("in_progress", "supervisor"),
        ("resolved", "centre"),
        ("closed", "leader"),
    ],
)
def test_it_offers_exactly_the_allowed_actions(
    case_in: CaseIn, status: str, who: str, request: pytest.FixtureRequest
) -> None:
    case = case_in(status)
    user: User = request.getfixturevalue(who)

    html = page(console(user).get(f"/console/cases/{case.number}/"))

    assert forms_on(html) == allowed_actions(case=fresh(case), user=user)


def test_it_withholds_a_whistle_blowers_identity_from_the_department(
    new_case: CaseMaker, centre: User, chen: User, town: Town
) -> None:
    case = new_case(kind="report", reporter=services.Reporter(name="举报人甲", phone="13700001234"))
    services.case_accept(case=case, actor=centre)
    services.case_dispatch(case=case, actor=centre, lead=town.urban)

    handler = page(console(chen).get(f"/console/cases/{case.number}/"))
    centre_view = page(console(centre).get(f"/console/cases/{case.number}/"))

    assert "13700001234" not in handler and "1234" not in handler.split("诉求人")[1].split("</dd>")[0]
    assert "举报人甲" not in handler and "保密" in handler
    assert "13700001234" in centre_view and "举报人甲" in centre_view


def test_it_shows_photos_plays_voice_and_serves_files_only_in_scope(
    new_case: CaseMaker, centre: User, sun: User
) -> None:
    voice = clean_upload(
        upload=SimpleUploadedFile("v.webm", b"\x1a\x45\xdf\xa3" + b"0" * 64), kind="voice", field="v"
    )
    case = new_case(attachments=(voice,))
    photo = with_photo(case, centre)
    recording = Attachment.objects.get(case=case, kind="voice")
    client = console(centre)

    html = page(client.get(f"/console/cases/{case.number}/"))
    served = client.get(f"/console/files/{photo.pk}/")

    assert f'<img src="/console/files/{photo.pk}/"' in html
    assert f'<audio controls preload="none" src="/console/files/{recording.pk}/"' in html
    assert "内部" in html  # the note carrying the photo is marked internal
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content)[:2] == b"\xff\xd8"  # type: ignore[attr-defined]
    assert console(sun).get(f"/console/files/{photo.pk}/").status_code == 404


# Hotline ------------------------------------------------------------------------------------------


def hotline_post(client: Client, **fields: str) -> object:
    data = {"phone": "138 1234 1234", "name": "张三", "kind": "complaint", "item": "ZHZF-301 占道经营"}
    data |= {"building": "B-0001", "description": "楼下占道摆摊", "then": "create", **fields}
    return client.post("/console/hotline/", data, follow=True)


def test_it_registers_accepts_and_dispatches_a_call_at_once(centre: User, town: Town) -> None:
    response = hotline_post(console(centre), then="dispatch", lead="D-SW")

    case = Case.objects.get()
    assert (case.channel, case.status, case.owner, case.reporter_phone) == (
        "hotline",
        "dispatched",
        town.water,
        "13812341234",
    )
    assert f"?created={case.number}" in response.redirect_chain[-1][0]  # type: ignore[attr-defined]
    assert "已受理并派单至水务局" in page(response) and case.tracking_code in page(response)


def test_it_dispatches_a_call_to_the_items_default_handler(centre: User, town: Town) -> None:
    hotline_post(console(centre), then="dispatch")

    assert Case.objects.get().owner == town.urban


def test_it_keeps_the_case_when_dispatch_cannot_follow(centre: User) -> None:
    response = hotline_post(console(centre), then="dispatch", item="")

    case = Case.objects.get()
    assert case.status == "accepted"
    assert "已登记，但未能完成受理派单" in page(response)
    assert f'href="/console/cases/{case.number}/"' in page(response)


def test_it_registers_a_call_without_dispatching(centre: User) -> None:
    hotline_post(console(centre))

    assert Case.objects.get().status == "submitted"


def test_it_keeps_what_was_typed_when_the_call_is_incomplete(centre: User) -> None:
    response = hotline_post(console(centre), description="", address="西里1号楼南侧")

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "请填写诉求内容" in page(response) and 'value="西里1号楼南侧"' in page(response)
    assert not Case.objects.exists()


def test_it_shows_the_callers_history_without_javascript(new_case: CaseMaker, centre: User) -> None:
    earlier = new_case()

    response = hotline_post(console(centre), lookup="1", description="又来了")

    assert earlier.number in page(response) and "又来了" in page(response)
    assert Case.objects.count() == 1


def test_it_serves_the_history_fragment_by_normalised_phone_to_dispatchers_only(
    new_case: CaseMaker, centre: User, chen: User
) -> None:
    mine = new_case()
    other = new_case(reporter=services.Reporter(phone="13900009999"))

    fragment = page(console(centre).get("/console/hotline/history/", {"phone": "+86 138-1234-1234"}))

    assert mine.number in fragment and other.number not in fragment
    assert "<html" not in fragment
    assert console(chen).get("/console/hotline/history/", {"phone": "13812341234"}).status_code == 403
    assert console(chen).get("/console/hotline/").status_code == 403


def test_it_suggests_buildings_of_the_centres_area(centre: User) -> None:
    response = console(centre).get("/console/hotline/buildings/", {"q": "西里1"})

    assert response.json()["buildings"][0]["value"] == "B-0001 西里1号楼"


def test_it_puts_the_phone_first_and_focused(centre: User) -> None:
    html = page(console(centre).get("/console/hotline/"))

    fields = re.findall(r'<(?:input|select|textarea)[^>]* name="(\w+)"', html.split('id="hotline-form"')[1])
    assert fields[:4] == ["csrfmiddlewaretoken", "phone", "name", "kind"]
    assert re.search(r'name="phone"[^>]*autofocus', html)
