"""Hotline entry (一号通办) from the keyboard: caller's phone, their history, the case, dispatched at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from civicgrid.accounts.models import User
from civicgrid.cases.models import AssignmentRole, AssignmentStatus, Case, Channel
from civicgrid.cases.states import Action, Status
from tests.browser.support import csp_violations, log_in, message, tab_to, whole_page_screenshot
from tests.conftest import CaseMaker, Town

pytestmark = pytest.mark.django_db(transaction=True)

CALLER = "13812341234"  # the phone of new_case's reporter
ITEM = "ZHZF-301 占道经营"  # an entry of the item type-ahead (code, then name)
BUILDING = "B-0001 西里1号楼"  # an entry of the building type-ahead


def enter_the_caller(page: Page, past: Case) -> None:
    """The phone first (the field has the focus on arrival); Enter shows the history, then the kind."""
    phone = page.locator("#id_phone")
    expect(phone).to_be_focused()
    page.keyboard.type(CALLER)
    page.keyboard.press("Enter")
    history = page.locator("#caller-history")
    expect(history.get_by_role("link", name=past.number)).to_be_visible()
    expect(history).to_contain_text("最近的诉求：1 件")
    expect(page.locator("#id_kind")).to_be_focused()


def enter_the_case(page: Page) -> None:
    """Kind with the arrow keys, item and building from their type-ahead lists, then the text."""
    for _ in range(3):  # 请选择 → 咨询 → 求助 → 投诉
        page.keyboard.press("ArrowDown")
    expect(page.locator("#id_kind")).to_have_value("complaint")
    page.keyboard.press("Tab")
    expect(page.locator("#id_item")).to_be_focused()
    expect(page.locator(f'#hotline-items option[value="{ITEM}"]')).to_have_count(1)
    page.keyboard.type(ITEM)
    page.keyboard.press("Tab")  # leaving the item fills in its default handler as the lead
    expect(page.locator("#id_lead")).to_have_value("D-CG")
    expect(page.locator("#id_building")).to_be_focused()
    page.keyboard.type("西里1号")
    # the building type-ahead asks the server and offers the match; the operator takes it
    expect(page.locator(f'#hotline-buildings option[value="{BUILDING}"]')).to_have_count(1)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(BUILDING)
    tab_to(page, "#id_description")
    page.keyboard.type("西里1号楼门前早市摊贩占道，行人只能走机动车道")


def test_it_registers_a_call_and_dispatches_it_from_the_keyboard(
    live_server: LiveServer, desk_page: Page, town: Town, centre: User, new_case: CaseMaker
) -> None:
    # given a dispatcher at the hotline and a caller who has called before
    page = desk_page
    past = new_case(description="上周反映的噪音扰民")
    violations = csp_violations(page)
    log_in(page, live_server.url, "zhou")
    page.get_by_role("link", name="热线受理").click()
    page.wait_for_url("**/console/hotline/")

    # when the operator types the phone, sees the history, and enters the case with the keyboard
    enter_the_caller(page, past)
    enter_the_case(page)
    whole_page_screenshot(page, "hotline_history")
    tab_to(page, "button[name=then][value=dispatch]")
    page.keyboard.press("Enter")

    # then the case is registered from the hotline, accepted and dispatched to the item's handler
    page.wait_for_url("**/console/hotline/?created=*")
    message(page, "已受理并派单至城管局")
    expect(page.locator("#id_phone")).to_have_value("")  # a fresh form for the next call
    expect(page.locator("section.created")).to_contain_text("城管局")
    whole_page_screenshot(page, "hotline_dispatched")
    case = Case.objects.exclude(pk=past.pk).get()
    assert (case.channel, case.status, case.owner) == (Channel.HOTLINE, Status.DISPATCHED, town.urban)
    assert (case.kind, case.item, case.building) == ("complaint", town.item, town.building)
    assert (case.reporter_phone, case.created_by) == (CALLER, centre)
    lead = case.assignments.get(active=True)
    assert (lead.unit, lead.role, lead.status) == (town.urban, AssignmentRole.LEAD, AssignmentStatus.PENDING)
    actions = list(case.events.order_by("seq").values_list("action", flat=True))
    assert actions == [Action.CREATE, Action.ACCEPT, Action.DISPATCH]
    assert violations == []
