"""Resident pages (一码受理): the building QR page, the three-step report, tracking and rating."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from PIL import Image

from civicgrid.accounts.models import Post, Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.cases import services
from civicgrid.cases.models import Attachment, Case, Evaluation
from civicgrid.cases.uploads import clean_upload
from tests.conftest import CaseMaker, Town

CaseIn = Callable[[str], Case]
PAGE_BUDGET = 100 * 1024  # bytes: "pages other than photos under 100 KB" on a slow network


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate-limit counters live in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


def jpeg(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, format="JPEG")
    return out.getvalue()


def photo_file(name: str = "scene.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg(), content_type="image/jpeg")


def report_data(**overrides: Any) -> dict[str, Any]:
    """Every field of the three steps, as a browser without JavaScript posts them at once."""
    data: dict[str, Any] = {"kind": "help", "description": "楼道灯坏了，晚上很黑", "item": ""}
    data |= {"name": "刘阿姨", "phone": "139-1111-2222"}
    data.update(overrides)
    return data


def report_url(town: Town) -> str:
    return f"/q/{town.building.token}/report/"


def text_of(response: Any) -> str:
    return str(response.content.decode())


def test_it_shows_the_building_its_grid_and_the_workers_public_card_to_anyone(town: Town, wang: User) -> None:
    wang.phone = "138 0000 1111"
    wang.save()
    Post.objects.filter(user=wang).update(duties="政策咨询、矛盾调解")

    response = Client().get(f"/q/{town.building.token}/")

    page = text_of(response)
    assert response.status_code == 200
    shown = ("西里1号楼", "西里1号", "西里一网格", "西里社区", "王网格", "政策咨询、矛盾调解", "我要上报")
    assert all(text in page for text in shown)
    assert 'href="tel:13800001111"' in page
    assert f'href="/q/{town.building.token}/report/"' in page


def test_it_lists_the_grid_worker_before_the_communitys_grid_leader(town: Town, wang: User) -> None:
    leader = User.objects.create_user(username="ma", password="pw-for-tests-1", display_name="马网格长")
    post_grant(user=leader, unit=town.community, role=Role.GRID_LEADER)

    page = text_of(Client().get(f"/q/{town.building.token}/"))

    assert page.index("王网格") < page.index("马网格长")


def test_it_shows_the_public_pages_to_signed_in_staff_too(town: Town, chen: User) -> None:
    client = Client()
    client.force_login(chen)

    assert client.get(f"/q/{town.building.token}/").status_code == 200
    assert client.get(report_url(town)).status_code == 200


def test_it_answers_an_unknown_building_token_or_tracking_code_with_a_friendly_404(town: Town) -> None:
    sign, code = Client().get("/q/no-such-token/"), Client().get("/t/NOSUCHCODE/")

    assert (sign.status_code, code.status_code) == (404, 404)
    assert "没有找到这个二维码对应的楼栋" in text_of(sign)
    assert "没有找到这个查询码" in text_of(code)
    assert Client().get("/q/no-such-token/report/").status_code == 404
    assert Client().get("/t/", {"code": "NOSUCHCODE"}).status_code == 404


def test_it_serves_only_a_grid_workers_photo_through_its_own_view(town: Town, wang: User, chen: User) -> None:
    assert Client().get(f"/q/card/{wang.pk}/photo/").status_code == 404  # a card post, but no photo
    wang.photo.save("wang.jpg", ContentFile(jpeg("blue")))
    chen.photo.save("chen.jpg", ContentFile(jpeg()))

    page = text_of(Client().get(f"/q/{town.building.token}/"))
    response = Client().get(f"/q/card/{wang.pk}/photo/")

    assert f'src="/q/card/{wang.pk}/photo/"' in page
    assert "/media/" not in page
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"  # type: ignore[attr-defined]
    assert Client().get(f"/q/card/{chen.pk}/photo/").status_code == 404  # no public post


def test_it_offers_the_three_steps_in_one_form(town: Town) -> None:
    response = Client().get(report_url(town))

    page = text_of(response)
    assert response.status_code == 200
    assert page.count("data-step>") == 3
    assert 'enctype="multipart/form-data"' in page
    for kind in ("求助", "投诉", "咨询", "建议", "表扬", "举报"):
        assert kind in page
    camera = r'<input type="file" name="photos"[^>]*accept="image/\*"[^>]*capture="environment"'
    assert re.search(camera, page)
    assert re.search(r'<input type="file" name="photos"[^>]*multiple', page)
    assert re.search(r'<input type="file" name="voice"[^>]*accept="audio/\*"', page)
    assert re.search(r'<div [^>]*data-voice-recorder data-input="id_voice"', page)
    assert '<optgroup label="综合执法">' in page
    assert "civicgrid/js/report.js" in page and "civicgrid/js/voice.js" in page
    assert "csrfmiddlewaretoken" in page


def test_it_creates_the_case_from_the_whole_form_posted_without_javascript(town: Town) -> None:
    voice = SimpleUploadedFile("v.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 64, content_type="audio/webm")
    photos = [photo_file(), photo_file("b.jpg")]
    data = report_data(kind="complaint", item="ZHZF-301", photos=photos, voice=voice)

    response = Client().post(report_url(town), data)

    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/t/{case.tracking_code}/?new=1"
    assert (case.channel, case.kind, case.status) == ("qr", "complaint", "submitted")
    assert (case.place, case.building, case.item) == (town.grid, town.building, town.item)
    assert (case.reporter_name, case.reporter_phone) == ("刘阿姨", "13911112222")
    assert case.created_by is None
    stored = list(Attachment.objects.filter(case=case).order_by("pk"))
    assert [(a.kind, a.content_type) for a in stored] == [("photo", "image/jpeg")] * 2 + [
        ("voice", "audio/webm")
    ]
    assert all(default_storage.exists(str(a.file.name)) for a in stored)
    thanks = text_of(Client().get(response["Location"]))
    assert "提交成功" in thanks and f'<p class="code code-big">{case.tracking_code}</p>' in thanks
    assert f"http://testserver/t/{case.tracking_code}/" in thanks


def test_it_keeps_what_was_typed_when_a_photo_is_forged(town: Town) -> None:
    forged = SimpleUploadedFile("scene.jpg", b"this is only text", content_type="image/jpeg")

    response = Client().post(report_url(town), report_data(photos=[forged]))

    page = text_of(response)
    assert response.status_code == 200
    assert not Case.objects.exists()
    assert "“scene.jpg”不是可识别的照片" in page
    assert "楼道灯坏了，晚上很黑</textarea>" in page
    assert 'value="刘阿姨"' in page
    assert "请重新选择" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"description": "  "}, "请填写发生了什么"),
        ({"phone": "12"}, "请填写正确的手机号或固定电话"),
        ({"photos": "ten"}, "最多上传 9 个文件"),
        ({"item": "ZHZF-999"}, "ZHZF-999"),
        ({"kind": "gossip"}, "gossip"),
    ],
)
def test_it_explains_bad_input_and_keeps_the_rest(
    town: Town, overrides: dict[str, Any], message: str
) -> None:
    if overrides.get("photos") == "ten":
        overrides["photos"] = [photo_file() for _ in range(10)]

    response = Client().post(report_url(town), report_data(**overrides))

    page = text_of(response)
    assert response.status_code == 200
    assert not Case.objects.exists()
    assert message in page and "errorlist" in page
    assert 'value="刘阿姨"' in page


def test_it_refuses_a_retired_catalogue_item(town: Town) -> None:
    town.item.active = False
    town.item.save()

    response = Client().post(report_url(town), report_data(item="ZHZF-301"))

    assert "errorlist" in text_of(response)
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "name", "anonymous"),
    [
        ({"kind": "report"}, "刘阿姨", False),
        ({"anonymous": "on"}, "", True),
        ({"confidential": "on"}, "刘阿姨", False),
    ],
)
def test_it_keeps_whistle_blowers_and_those_who_ask_confidential(
    town: Town, overrides: dict[str, Any], name: str, anonymous: bool
) -> None:
    Client().post(report_url(town), report_data(**overrides))

    case = Case.objects.get()
    assert (case.reporter_name, case.reporter_anonymous, case.reporter_confidential) == (
        name,
        anonymous,
        True,
    )


def test_it_keeps_csrf_protection_on_the_report_form(town: Town) -> None:
    response = Client(enforce_csrf_checks=True).post(report_url(town), report_data())

    assert response.status_code == 403
    assert not Case.objects.exists()


@override_settings(PUBLIC_REPORT_RATE="2/h")
def test_it_limits_reports_per_client_address(town: Town) -> None:
    client = Client()
    for _ in range(2):
        assert client.post(report_url(town), report_data()).status_code == 302

    third = client.post(report_url(town), report_data())

    assert third.status_code == 429
    assert "提交得太频繁" in text_of(third)
    assert Case.objects.count() == 2
    assert client.get(report_url(town)).status_code == 200  # reading the form is never limited


def test_it_shows_the_public_timeline_by_unit_only(case_in: CaseIn, chen: User, centre: User) -> None:
    case = case_in("resolved")
    services.case_note(case=case, actor=chen, text="内部：摊主电话已记下，勿外传")

    response = Client().get(f"/t/{case.tracking_code}/")

    page = text_of(response)
    assert response.status_code == 200
    steps = ("已办结，请您评价", "提交诉求", "受理", "派单至办理单位", "办理单位签收", "办结答复", "城管局")
    assert all(text in page for text in steps)
    assert "已劝离摊贩" in page  # the answer written for the reporter
    hidden = ("陈城管", "周受理", "王网格", "勿外传", "13812341234", "138****1234", "张三")
    assert [text for text in hidden if text in page] == []


def test_it_finds_a_case_whatever_the_letter_case_of_its_code(new_case: CaseMaker) -> None:
    case = new_case()

    assert Client().get(f"/t/{case.tracking_code.lower()}/").status_code == 200
    assert Client().get("/t/", {"code": case.tracking_code.lower()}).status_code == 302


def test_it_shows_the_reporters_photos_and_the_after_photos(
    town: Town, centre: User, chen: User, new_case: CaseMaker
) -> None:
    before = clean_upload(upload=photo_file(), kind="photo", field="photos")
    after = clean_upload(upload=photo_file("after.jpg"), kind="photo", field="photos")
    case = new_case(attachments=(before,))
    services.case_accept(case=case, actor=centre)
    services.case_dispatch(case=case, actor=centre, lead=town.urban)
    services.case_acknowledge(case=case, actor=chen)
    services.case_resolve(case=case, actor=chen, result="已清理", attachments=(after,))

    page = text_of(Client().get(f"/t/{case.tracking_code}/"))
    urls = [f"/t/{case.tracking_code}/files/{a.pk}/" for a in Attachment.objects.order_by("pk")]
    served = Client().get(urls[1])

    assert all(url in page for url in urls)
    assert (served.status_code, served["Content-Type"]) == (200, "image/jpeg")


def test_it_never_serves_internal_or_foreign_attachments(
    case_in: CaseIn, chen: User, new_case: CaseMaker
) -> None:
    case = case_in("in_progress")
    note_photo = clean_upload(upload=photo_file(), kind="photo", field="photos")
    services.case_note(case=case, actor=chen, text="现场", attachments=(note_photo,))
    internal = Attachment.objects.get(case=case)
    other = new_case(attachments=(clean_upload(upload=photo_file(), kind="photo", field="photos"),))
    foreign = Attachment.objects.get(case=other)

    assert Client().get(f"/t/{case.tracking_code}/files/{internal.pk}/").status_code == 404
    assert Client().get(f"/t/{case.tracking_code}/files/{foreign.pk}/").status_code == 404
    assert Client().get(f"/t/{other.tracking_code}/files/{foreign.pk}/").status_code == 200


def rate(case: Case, **answers: str) -> Any:
    return Client().post(f"/t/{case.tracking_code}/rate/", answers, follow=True)


def test_it_does_not_ask_before_the_case_is_resolved(case_in: CaseIn) -> None:
    case = case_in("in_progress")

    page = text_of(Client().get(f"/t/{case.tracking_code}/"))
    refused = rate(case, solved="yes", satisfaction="satisfied")

    assert "问题是否解决？" not in page
    assert "还不能评价" in text_of(refused)
    assert not Evaluation.objects.exists()


def test_it_records_one_rating_per_resolution(case_in: CaseIn) -> None:
    case = case_in("resolved")
    asked = text_of(Client().get(f"/t/{case.tracking_code}/"))

    first = rate(case, solved="yes", satisfaction="satisfied", comment="很及时")
    second = rate(case, solved="no", satisfaction="dissatisfied")

    assert all(text in asked for text in ("问题是否解决？", "满意度", "基本满意", "不满意"))
    evaluation = Evaluation.objects.get()
    assert (evaluation.solved, evaluation.satisfaction, evaluation.channel) == (True, "satisfied", "resident")
    assert evaluation.comment == "很及时"
    assert "感谢您的评价" in text_of(first)
    assert "已经评价过了" in text_of(second)
    case.refresh_from_db()
    assert case.status == "closed"


def test_it_keeps_a_dissatisfied_case_resolved_for_review(case_in: CaseIn) -> None:
    case = case_in("resolved")

    response = rate(case, solved="no", satisfaction="dissatisfied")
    again = rate(case, solved="no", satisfaction="dissatisfied")

    case.refresh_from_db()
    assert case.status == "resolved"
    assert "已记录，我们将安排复核" in text_of(response) and "您的评价已记录，正在复核" in text_of(response)
    assert "问题是否解决？" not in text_of(response)
    assert "已经评价过了" in text_of(again)
    assert Evaluation.objects.count() == 1


def test_it_shows_what_is_missing_in_a_rating(case_in: CaseIn) -> None:
    case = case_in("resolved")

    response = Client().post(f"/t/{case.tracking_code}/rate/", {"solved": "yes", "comment": "还行"})

    page = text_of(response)
    assert response.status_code == 200
    assert "请选择满意度" in page and "还行</textarea>" in page
    assert not Evaluation.objects.exists()


def test_it_takes_ratings_only_by_post(case_in: CaseIn) -> None:
    assert Client().get(f"/t/{case_in('resolved').tracking_code}/rate/").status_code == 405
    assert Client().post("/t/NOSUCHCODE/rate/", {"solved": "yes"}).status_code == 404


def static_size(name: str) -> int:
    found = finders.find(name)
    assert isinstance(found, str), name
    return Path(found).stat().st_size


def test_it_keeps_each_page_with_its_stylesheet_and_script_under_100_kb(case_in: CaseIn, town: Town) -> None:
    case = case_in("resolved")
    pages = [f"/q/{town.building.token}/", report_url(town), f"/t/{case.tracking_code}/?new=1"]
    assets = static_size("civicgrid/css/app.css") + static_size("civicgrid/js/report.js")
    assets += static_size("civicgrid/js/voice.js") if finders.find("civicgrid/js/voice.js") else 0

    sizes = {url: len(Client().get(url).content) for url in pages}

    assert all(size < PAGE_BUDGET for size in sizes.values()), sizes
    assert max(sizes.values()) + assets < PAGE_BUDGET, (sizes, assets)


def test_it_runs_no_inline_script_or_style_on_the_public_pages(case_in: CaseIn, town: Town) -> None:
    case = case_in("resolved")
    for url in (f"/q/{town.building.token}/", report_url(town), f"/t/{case.tracking_code}/?new=1"):
        page = text_of(Client().get(url))

        assert not re.search(r"<script(?![^>]*\bsrc=)", page), url
        assert " style=" not in page and "<style" not in page, url
