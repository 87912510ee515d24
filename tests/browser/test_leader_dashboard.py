"""A district leader reads the dashboard (charts, their tables, links); the big screen redraws itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from civicgrid.accounts.models import User
from civicgrid.analytics import rollups
from civicgrid.cases import services
from civicgrid.cases.models import Case
from tests.browser.support import csp_violations, log_in, whole_page_screenshot
from tests.conftest import CaseMaker, Town

pytestmark = pytest.mark.django_db(transaction=True)


def fold() -> None:
    """What the worker does between two refreshes: fold new events into the rollups."""
    while rollups.refresh():
        pass


def accept(new_case: CaseMaker, centre: User, town: Town) -> Case:
    return services.case_accept(case=new_case(place=town.grid), actor=centre)


@pytest.fixture
def this_month(new_case: CaseMaker, centre: User, chen: User, town: Town) -> list[Case]:
    """Today in 西城区: two cases accepted in 西里社区, one in 东里社区, one resolved; both communities
    have coordinates, so the map draws two circles."""
    for community, lat in ((town.community, 39.94), (town.other_community, 39.95)):
        community.lat, community.lon = lat, 116.37
        community.save()
    cases = [accept(new_case, centre, town), accept(new_case, centre, town)]
    cases.append(services.case_accept(case=new_case(place=town.far_grid, building=None), actor=centre))
    services.case_dispatch(case=cases[0], actor=centre, lead=town.urban)
    services.case_acknowledge(case=cases[0], actor=chen)
    services.case_resolve(case=cases[0], actor=chen, result="已劝离摊贩")
    fold()
    return cases


@pytest.fixture
def wall(browser: Browser) -> Iterator[Page]:
    """A command centre's wall display: a full-HD screen."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def test_it_draws_the_dashboard_and_shows_each_chart_as_a_table(
    live_server: LiveServer, desk_page: Page, this_month: list[Case], leader: User
) -> None:
    # given the district leader signed in
    page = desk_page
    violations = csp_violations(page)
    log_in(page, live_server.url, "zheng")

    # when they open the dashboard from the top bar
    page.get_by_role("link", name="数据看板").click()
    page.wait_for_url("**/console/dashboard/")

    # then the tiles, the charts (canvas) and the map's circles (svg) are drawn
    expect(page.locator(".kpi-accepted .kpi-value")).to_have_text("3")
    expect(page.locator(".panel-trend .chart canvas")).to_have_count(1)
    expect(page.locator(".panel-domains .chart canvas")).to_have_count(1)
    expect(page.locator(".panel-map svg path.leaflet-interactive")).to_have_count(2)
    expect(page.locator(".panel-units tbody tr")).to_have_count(1)
    whole_page_screenshot(page, "dashboard_charts")

    # when they press 表格 on the daily chart, then its numbers show in a table, today's row linked
    trend = page.locator(".panel-trend")
    trend.get_by_role("button", name="表格").click()
    expect(trend.get_by_role("button", name="表格")).to_have_attribute("aria-pressed", "true")
    expect(trend.locator(".chart")).to_be_hidden()
    today = timezone.localdate().isoformat()
    row = trend.locator("tbody tr", has=page.get_by_role("link", name=today))
    expect(row.locator("td")).to_have_text(["3", "1"])
    whole_page_screenshot(page, "dashboard_table")

    # and on a phone the page fits its width (wide tables scroll inside their panel)
    page.set_viewport_size({"width": 360, "height": 740})
    # (once the charts have followed the resize: until then a canvas keeps its old width)
    page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth", timeout=5000)
    whole_page_screenshot(page, "dashboard_phone")
    page.set_viewport_size({"width": 1366, "height": 900})

    # and the link behind the row lists the cases of that day in the console
    row.get_by_role("link", name=today).click()
    page.wait_for_url("**/console/?tab=all*")
    for case in this_month:
        expect(page.get_by_role("link", name=case.number)).to_be_visible()
    assert violations == []


def test_it_keeps_the_big_screen_fresh_through_a_network_error(
    live_server: LiveServer,
    wall: Page,
    this_month: list[Case],
    leader: User,
    new_case: CaseMaker,
    centre: User,
    town: Town,
    settings: Settings,
) -> None:
    # given a big screen refreshing every second, left open on the wall
    settings.DASHBOARD_SCREEN_REFRESH_SECONDS = 1
    page = wall
    violations = csp_violations(page)
    log_in(page, live_server.url, "zheng")
    page.goto(f"{live_server.url}/console/dashboard/screen/")
    expect(page.locator(".kpi-accepted .kpi-value")).to_have_text("3")
    expect(page.locator(".screen-clock")).not_to_be_empty()
    page.evaluate("window.stillTheSamePage = true")

    # when a case is accepted meanwhile, then the screen shows it without reloading
    accept(new_case, centre, town)
    fold()
    expect(page.locator(".kpi-accepted .kpi-value")).to_have_text("4")
    expect(page.locator(".screen-status")).to_contain_text("更新于")

    # when the network fails, then it says so and keeps trying
    page.route("**/console/dashboard/data/**", lambda route: route.abort())
    expect(page.locator(".screen-status")).to_have_text("数据更新失败，将重试")
    whole_page_screenshot(page, "dashboard_screen_offline")

    # when the network is back, then the next try redraws and the warning goes
    accept(new_case, centre, town)
    fold()
    page.unroute("**/console/dashboard/data/**")
    expect(page.locator(".kpi-accepted .kpi-value")).to_have_text("5")
    expect(page.locator(".screen-status")).to_contain_text("更新于")
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator(".panel-trend .chart canvas")).to_have_count(1)
    whole_page_screenshot(page, "dashboard_screen")
    assert violations == []
