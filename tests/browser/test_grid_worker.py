"""A grid worker's 随手拍 on the phone, handled on the spot (小事一格解决) in the same flow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from civicgrid.accounts.models import User
from civicgrid.cases.models import Case, Channel
from civicgrid.cases.states import Action, Status
from tests.browser.support import csp_violations, jpeg, log_in, message, whole_page_screenshot
from tests.conftest import Town

pytestmark = pytest.mark.django_db(transaction=True)


def fill_snap(page: Page, before: Path, after: Path) -> None:
    """Photo first, then where and what, then the on-the-spot result with its after-photo."""
    page.set_input_files("#id_photos", before)
    page.select_option("#id_building", label="西里1号楼")
    page.get_by_role("radio", name="求助", exact=True).check()
    page.fill("#id_description", "1号楼门口共享单车倒了一片，挡住盲道")
    after_fields = page.locator("[data-on-the-spot]")
    expect(after_fields).to_be_hidden()  # mobile-snap.js shows them only once the box is ticked
    page.get_by_label("小事一格解决").check()
    expect(after_fields).to_be_visible()
    page.fill("#id_result", "已将单车扶正并移出盲道")
    page.set_input_files("#id_after_photos", after)


def test_it_reports_and_resolves_on_the_spot_from_the_phone(
    live_server: LiveServer, page: Page, town: Town, wang: User, tmp_path: Path
) -> None:
    # given wang signed in on his phone
    violations = csp_violations(page)
    log_in(page, live_server.url, "wang")
    page.wait_for_url("**/m/")

    # when he opens 随手拍, fills it in with a before- and an after-photo and submits
    page.locator("nav.tabbar").get_by_role("link", name="随手拍").click()
    page.wait_for_url("**/m/snap/")
    fill_snap(page, jpeg(tmp_path, "before.jpg", "gray"), jpeg(tmp_path, "after.jpg", "green"))
    whole_page_screenshot(page, "grid_worker_snap")
    page.get_by_role("button", name="提交", exact=True).click()

    # then drafts.js sends it and opens the new case, already resolved by him
    page.wait_for_url(re.compile(r"/m/cases/[^/]+/$"))
    message(page, "已就地办结")
    expect(page.get_by_text("已将单车扶正并移出盲道")).to_be_visible()
    whole_page_screenshot(page, "grid_worker_resolved")
    number = page.url.rstrip("/").rsplit("/", 1)[-1]
    case = Case.objects.get(number=number)
    assert (case.status, case.channel, case.proactive) == (Status.RESOLVED, Channel.GRID_APP, True)
    assert (case.building, case.created_by) == (town.building, wang)
    actions = list(case.events.order_by("seq").values_list("action", "actor"))
    assert actions == [(Action.CREATE, wang.pk), (Action.ACCEPT, wang.pk), (Action.RESOLVE, wang.pk)]
    created, resolved = case.events.get(action=Action.CREATE), case.events.get(action=Action.RESOLVE)
    assert [a.kind for a in created.attachments.all()] == ["photo"]
    assert [a.kind for a in resolved.attachments.all()] == ["photo"]
    assert case.attachments.count() == 2
    assert violations == []
