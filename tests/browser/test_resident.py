"""A resident reports at a building's QR sign on a phone, with a photo, and later rates the result."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Attachment, Case, Channel, Evaluation, EvaluationChannel, Satisfaction
from civicgrid.cases.states import Status
from tests.browser.support import csp_violations, jpeg, message, whole_page_screenshot
from tests.conftest import Town

pytestmark = pytest.mark.django_db(transaction=True)


def report_through_the_sign(page: Page, base_url: str, town: Town, photo: Path) -> str:
    """The three steps one at a time, as report.js shows them; returns the tracking code shown."""
    page.goto(f"{base_url}/q/{town.building.token}/")
    expect(page.get_by_role("heading", name="西里1号楼")).to_be_visible()
    page.get_by_role("link", name="我要上报").click()

    page.get_by_role("radio", name="投诉").check()
    page.fill("#id_description", "3单元楼道堆满杂物，挡住了消防通道")
    expect(page.locator("#id_photos")).to_be_hidden()  # one step at a time
    page.get_by_role("button", name="下一步").click()

    page.set_input_files("#id_photos", photo)
    expect(page.locator("[data-previews=id_photos] img")).to_have_count(1)
    page.get_by_role("button", name="下一步").click()

    page.fill("#id_phone", "139-1111-2222")
    page.get_by_role("button", name="提交").click()

    page.wait_for_url("**/t/*/?new=1")
    code = page.locator(".code-big").inner_text().strip()
    expect(page.get_by_role("heading", name="提交成功，感谢您的反映！")).to_be_visible()
    return code


def resolve_as_staff(case: Case, town: Town, centre: User, chen: User) -> None:
    """Meanwhile at the centre and the department, through the same services the pages use."""
    services.case_accept(case=case, actor=centre)
    services.case_dispatch(case=case, actor=centre, lead=town.urban)
    services.case_acknowledge(case=case, actor=chen)
    services.case_resolve(case=case, actor=chen, result="已清理楼道杂物，消防通道已畅通")


def test_it_takes_a_report_with_a_photo_at_the_qr_sign_and_a_rating_after_resolution(
    live_server: LiveServer, page: Page, town: Town, centre: User, chen: User, tmp_path: Path
) -> None:
    # given a resident at the building's QR sign (and a fresh per-address report allowance)
    cache.clear()
    violations = csp_violations(page)

    # when they report in three steps with a photo
    code = report_through_the_sign(page, live_server.url, town, jpeg(tmp_path, "corridor.jpg"))
    whole_page_screenshot(page, "resident_thanks")

    # then the case exists as a QR report at that building, with the photo on its first step
    case = Case.objects.get(tracking_code=code)
    assert (case.channel, case.building, case.status) == (Channel.QR, town.building, Status.SUBMITTED)
    assert (case.kind, case.reporter_phone) == ("complaint", "13911112222")
    photo = Attachment.objects.get(case=case)
    assert (photo.kind, photo.event, photo.uploaded_by) == ("photo", case.events.get(seq=1), None)
    assert photo.file.name and photo.file.storage.exists(photo.file.name)

    # when the staff resolve it and the resident comes back to the tracking page and rates it
    resolve_as_staff(case, town, centre, chen)
    page.get_by_role("link", name=f"/t/{code}/").click()  # the link the thank-you page offers to keep
    page.wait_for_url(f"**/t/{code}/")
    expect(page.get_by_text("已清理楼道杂物，消防通道已畅通")).to_be_visible()
    rating = page.locator("form#rate")
    rating.get_by_role("radio", name="是", exact=True).check()
    rating.get_by_role("radio", name="满意", exact=True).check()
    rating.get_by_label("意见建议（可不填）").fill("处理很快，谢谢")
    whole_page_screenshot(page, "resident_rating_form")
    rating.get_by_role("button", name="提交评价").click()

    # then they are thanked, the questions are gone, and the case is closed with their rating
    message(page, "感谢您的评价！")
    expect(page.locator("form#rate")).to_have_count(0)
    whole_page_screenshot(page, "resident_rated")
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    evaluation = Evaluation.objects.get(case=case)
    assert (evaluation.channel, evaluation.solved) == (EvaluationChannel.RESIDENT, True)
    assert (evaluation.satisfaction, evaluation.comment) == (Satisfaction.SATISFIED, "处理很快，谢谢")
    assert violations == []
