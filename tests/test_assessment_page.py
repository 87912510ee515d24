"""The console's 考核 page: the ranking table, sorted by links, downloaded as CSV or xlsx."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from civicgrid.accounts.models import Role, User
from civicgrid.cases.models import Case
from civicgrid.cases.services.exclusions import case_exclude, case_request_exclusion
from civicgrid.org.models import Unit
from tests.conftest import Town, at
from tests.test_assessment import rolled
from tests.test_assessment_api import person

PAGE = "/console/assessment/"
QUERY = "from=2026-10-01&to=2026-11-01&kind=community&district=XC"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def order(html: str, *names: str) -> list[str]:
    """The names in the order they first appear in the page."""
    return sorted(names, key=html.index)


@pytest.fixture
def october(town: Town) -> None:
    """西里: responded 9/10, solved 80/100, satisfied 90/100; 东里: 10/10, 70/100, 70/100."""
    rolled(town.grid, assigned=10, responded=9, evaluations=100, satisfied=90, solved=80)
    rolled(town.far_grid, assigned=10, responded=10, evaluations=100, satisfied=70, solved=70)


def test_it_shows_the_ranking_of_the_communities(october: None, leader: User) -> None:
    response = signed_in(leader).get(f"{PAGE}?{QUERY}")

    assert response.status_code == 200
    html = response.content.decode()
    assert "考核排名" in html and "西城区" in html
    assert "80.00%" in html  # the baseline
    assert "90.00%" in html and "第 1 名" in html
    assert "85.00" in html and "63.00" in html and "−10.00" in html
    assert order(html, "西里社区", "东里社区") == ["西里社区", "东里社区"]  # by composite
    assert "本期没有批准的考核剔除" in html
    assert 'href="/console/assessment/download.csv?from=2026-10-01&amp;to=2026-11-01' in html


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("deduction", "东里社区"),
        ("response_rate", "东里社区"),
        ("satisfaction", "西里社区"),
        ("unit", "西里社区"),
    ],
)
def test_it_sorts_by_the_column_asked(october: None, leader: User, sort: str, first: str) -> None:
    html = signed_in(leader).get(f"{PAGE}?{QUERY}&sort={sort}").content.decode()

    assert order(html, "西里社区", "东里社区")[0] == first
    assert "?from=2026-10-01&amp;to=2026-11-01&amp;kind=community&amp;district=XC&amp;sort=composite" in html


def test_it_shows_last_month_of_the_streets_by_default(town: Town, leader: User) -> None:
    with time_machine.travel(at("2026-11-15 09:00"), tick=False):
        response = signed_in(leader).get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="2026-10-01"' in html and 'value="2026-11-01"' in html
    assert "新街口街道" in html and "数据不足" in html


def test_it_lists_the_exclusions_approved_in_the_period(
    case_in: Callable[[str], Case], zhao: User, supervisor: User, leader: User
) -> None:
    case = case_in("closed")
    with time_machine.travel(at("2026-10-20 10:00"), tick=False):
        case_request_exclusion(case=case, actor=zhao, reason="duplicate", note="与另一诉求重复")
        case_exclude(case=case, actor=supervisor, note="核实属实")

    html = signed_in(leader).get(f"{PAGE}?{QUERY}").content.decode()

    assert f'href="/console/cases/{case.number}/"' in html
    assert "重复诉求" in html and "与另一诉求重复" in html and "吴督办" in html


# --- downloads -------------------------------------------------------------------------------------


def test_it_downloads_the_ranking_as_csv(october: None, leader: User) -> None:
    response = signed_in(leader).get(f"/console/assessment/download.csv?{QUERY}&sort=deduction")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="assessment-XC-community-2026-10-01-2026-11-01.csv"'
    )
    assert response.content.startswith("\ufeff".encode())
    head, east, west = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert head[:7] == ["单位编码", "单位", "受理量", "响应率", "响应率分子", "响应率分母", "响应率排名"]
    assert head[-5:] == ["得分", "扣分", "综合得分", "综合排名", "数据不足"]
    assert (east[0], east[-5:]) == ("XC-S1-C2", ["73.00", "10.00", "63.00", "2", ""])
    assert (west[0], west[3:7]) == ("XC-S1-C1", ["0.9000", "9", "10", "2"])


def test_it_downloads_the_ranking_as_xlsx(october: None, leader: User) -> None:
    response = signed_in(leader).get(f"/console/assessment/download.xlsx?{QUERY}")

    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["考核排名", "基准与权重", "考核剔除"]
    rows = list(book["考核排名"].iter_rows(values_only=True))
    assert [r[0] for r in rows] == ["单位编码", "XC-S1-C1", "XC-S1-C2"]
    assert rows[1][3] == 0.9 and rows[1][-3] == 85.0
    assert book["基准与权重"]["B1"].value == 0.8


def test_it_downloads_no_other_format(october: None, leader: User) -> None:
    assert signed_in(leader).get(f"/console/assessment/download.pdf?{QUERY}").status_code == 404


def test_it_only_answers_get(leader: User) -> None:
    assert signed_in(leader).post(f"{PAGE}?{QUERY}").status_code == 405


# --- who may look, and bad input -----------------------------------------------------------------


def test_it_sends_strangers_to_sign_in(town: Town) -> None:
    response = Client().get(f"{PAGE}?{QUERY}")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/console/assessment/")


@pytest.mark.parametrize("url", [f"{PAGE}?{QUERY}", f"/console/assessment/download.csv?{QUERY}"])
def test_it_refuses_a_grid_worker_and_a_department_handler(wang: User, chen: User, url: str) -> None:
    for user in (wang, chen):
        response = signed_in(user).get(url)
        assert response.status_code == 403
        assert "只有区县指挥中心、督办、领导和管理员可以查看考核" in response.content.decode()


def test_it_refuses_another_district(town: Town, leader: User) -> None:
    Unit.objects.create(code="DC", name="东城区", kind=Unit.Kind.DISTRICT)

    response = signed_in(leader).get(f"{PAGE}?{QUERY.replace('district=XC', 'district=DC')}")

    assert response.status_code == 403
    assert "东城区" in response.content.decode()


def test_it_opens_to_an_admin_of_the_district(town: Town) -> None:
    assert signed_in(person("admin", town.district, Role.ADMIN)).get(PAGE).status_code == 200


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("from=yesterday&to=2026-11-01&kind=street", "起始日期"),
        ("from=2026-11-01&to=2026-10-01&kind=street", "须晚于 from"),
        ("from=2025-01-01&to=2026-11-01&kind=street", "统计期不能超过 400 天"),
        ("from=2026-10-01&to=2026-11-01&kind=grid", "考核对象"),
        ("from=2026-10-01&to=2026-11-01&kind=street&district=NOPE", "未知单位编码 NOPE"),
        ("from=2026-10-01&to=2026-11-01&kind=street&district=XC-S1", "须为区县单位"),
        ("from=2026-10-01&to=2026-11-01&kind=street&sort=bogus", "bogus"),
    ],
)
def test_it_says_what_is_wrong_with_the_query(leader: User, query: str, says: str) -> None:
    for url in (PAGE, "/console/assessment/download.xlsx"):
        response = signed_in(leader).get(f"{url}?{query}")

        assert response.status_code == 400, url
        html = response.content.decode()
        assert 'class="errorlist"' in html and says in html
