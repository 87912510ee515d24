"""A department handler finds a dispatched case in the console, acknowledges it and resolves it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from civicgrid.accounts.models import User
from civicgrid.cases.models import AssignmentStatus, Case
from civicgrid.cases.states import Action, Status
from tests.browser.support import csp_violations, jpeg, log_in, message, whole_page_screenshot
from tests.conftest import Town

pytestmark = pytest.mark.django_db(transaction=True)


def open_from_the_queue(page: Page, case: Case) -> None:
    """The 待签收 tab of the console lists the case; its number opens the case page."""
    page.get_by_role("link", name="待签收").click()
    current = page.locator("nav.tabs [aria-current=page]")
    expect(current).to_contain_text("待签收")
    expect(current.locator(".count")).to_have_text("1")
    page.get_by_role("link", name=case.number).click()
    page.wait_for_url(f"**/console/cases/{case.number}/")


def acknowledge(page: Page) -> None:
    panel = page.locator("#action-acknowledge")
    panel.locator("summary").click()
    panel.get_by_role("button", name="签收").click()
    message(page, "签收：已完成")


def resolve(page: Page, result: str, photo: Path) -> None:
    panel = page.locator("#action-resolve")
    panel.locator("summary").click()
    expect(page.locator("#id_resolve_result")).to_be_focused()  # console.js: the cursor goes to the form
    page.keyboard.type(result)
    panel.get_by_label("照片（可多张）").set_input_files(photo)
    panel.get_by_role("button", name="办结").click()
    message(page, "办结：已完成")


def test_it_lets_a_handler_acknowledge_and_resolve_from_the_console(
    live_server: LiveServer,
    desk_page: Page,
    town: Town,
    chen: User,
    case_in: Callable[[str], Case],
    tmp_path: Path,
) -> None:
    # given a case the centre dispatched to 城管局, and chen of 城管局 at the console
    page = desk_page
    case = case_in("dispatched")
    violations = csp_violations(page)
    log_in(page, live_server.url, "chen")
    page.wait_for_url("**/console/")

    # when he opens it from his 待签收 queue, acknowledges it, then resolves it with a photo
    open_from_the_queue(page, case)
    acknowledge(page)
    expect(page.locator("#action-acknowledge")).to_have_count(0)
    resolve(page, "已责令摊贩撤离，门前道路恢复通行", jpeg(tmp_path, "after.jpg", "green"))

    # then the case page shows it resolved, and so do the case, its assignment and its events
    expect(page.locator("h1 .badge").first).to_have_text("已办结")
    whole_page_screenshot(page, "department_resolved")
    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    lead = case.assignments.get(unit=town.urban)
    assert lead.status == AssignmentStatus.RESOLVED
    assert lead.acknowledged_at is not None
    done = case.events.filter(action__in=[Action.ACKNOWLEDGE, Action.RESOLVE]).order_by("seq")
    assert [(e.action, e.actor) for e in done] == [(Action.ACKNOWLEDGE, chen), (Action.RESOLVE, chen)]
    resolved = done.get(action=Action.RESOLVE)
    assert resolved.note == "已责令摊贩撤离，门前道路恢复通行"
    assert [a.kind for a in resolved.attachments.all()] == ["photo"]
    assert violations == []
