"""The console's bulletin pages: who may list, download and generate, and what the download says."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import time_machine
from django.test import Client

from civicgrid.accounts.models import User
from civicgrid.analytics.bulletins import services
from civicgrid.analytics.models import Bulletin
from tests.conftest import Town, at

LIST = "/console/bulletins/"
GENERATE = "/console/bulletins/generate/"


@pytest.fixture(autouse=True)
def _november() -> Iterator[None]:
    with time_machine.travel(at("2026-11-05 09:00"), tick=False):
        yield


@pytest.fixture
def stored(town: Town) -> dict[str, Bulletin]:
    """The district's October bulletin (both formats) and 西里社区's digest of 1 November."""
    made = {}
    for key, code, period, fmt in (
        ("month_xlsx", "XC", "2026-10", "xlsx"),
        ("month_html", "XC", "2026-10", "html"),
        ("digest", "XC-S1-C1", "2026-11-01", "xlsx"),
    ):
        made[key] = services.bulletin_generate(request=services.checked(code=code, period=period, fmt=fmt))
    return made


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_sends_anonymous_visitors_to_the_login_page(stored: dict[str, Bulletin]) -> None:
    for url in (LIST, f"/console/bulletins/{stored['digest'].pk}/download/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_lists_every_bulletin_of_the_district_to_its_leader_newest_first(
    stored: dict[str, Bulletin], leader: User
) -> None:
    response = signed_in(leader).get(LIST)

    assert response.status_code == 200
    rows = list(response.context["page"].object_list)
    assert rows[0] == stored["digest"]  # 1 November comes before October
    assert set(rows) == set(stored.values())
    assert response.context["can_generate"] is True
    assert "西城区" in response.content.decode()


def test_it_filters_by_kind(stored: dict[str, Bulletin], leader: User) -> None:
    response = signed_in(leader).get(LIST, {"kind": "daily"})

    assert list(response.context["page"].object_list) == [stored["digest"]]


def test_it_shows_a_community_only_its_own_and_lets_it_not_generate(
    stored: dict[str, Bulletin], zhao: User
) -> None:
    response = signed_in(zhao).get(LIST)

    assert list(response.context["page"].object_list) == [stored["digest"]]
    assert response.context["can_generate"] is False
    assert 'id="generate"' not in response.content.decode()


def test_it_refuses_a_department_handler_in_chinese(stored: dict[str, Bulletin], chen: User) -> None:
    response = signed_in(chen).get(LIST)

    assert response.status_code == 403
    assert "通报仅供" in response.content.decode()


def test_it_downloads_a_workbook_under_its_chinese_name(stored: dict[str, Bulletin], leader: User) -> None:
    row = stored["month_xlsx"]

    response = signed_in(leader).get(f"/console/bulletins/{row.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="bulletin-monthly-2026-10-')
    assert f"filename*=UTF-8''{quote('西城区月度通报_2026-10.xlsx')}" in disposition
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body[:2] == b"PK" and len(body) == row.size == int(response["Content-Length"])


def test_it_downloads_the_printable_page_with_its_own_styles_allowed(
    stored: dict[str, Bulletin], supervisor: User
) -> None:
    response = signed_in(supervisor).get(f"/console/bulletins/{stored['month_html'].pk}/download/")

    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert "<h1>西城区月度通报</h1>" in b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]


def test_it_refuses_a_download_outside_the_callers_areas(stored: dict[str, Bulletin], zhao: User) -> None:
    response = signed_in(zhao).get(f"/console/bulletins/{stored['month_xlsx'].pk}/download/")

    assert response.status_code == 403
    assert "您无权查看 西城区 的通报" in response.content.decode()


def test_it_answers_404_for_an_unknown_bulletin(leader: User) -> None:
    assert signed_in(leader).get("/console/bulletins/999999/download/").status_code == 404


def test_it_generates_now_for_a_supervisor_and_replaces_the_file(
    stored: dict[str, Bulletin], supervisor: User
) -> None:
    before = stored["month_xlsx"].file.name

    response = signed_in(supervisor).post(GENERATE, {"unit": "XC", "period": "2026-10", "format": "xlsx"})

    assert response.status_code == 302 and response["Location"] == LIST
    row = Bulletin.objects.get(pk=stored["month_xlsx"].pk)
    assert row.generated_by == supervisor and row.file.name != before
    assert Bulletin.objects.count() == 3


def test_it_generates_a_new_bulletin_and_says_so(town: Town, leader: User) -> None:
    client = signed_in(leader)

    response = client.post(GENERATE, {"unit": "XC-S1", "period": "2026-W44", "format": "html"}, follow=True)

    row = Bulletin.objects.get()
    assert (row.unit, row.kind, row.period, row.format) == (town.street, "weekly", "2026-W44", "html")
    assert "已生成 新街口街道周报_2026-W44.html" in response.content.decode()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"unit": "XC", "period": "2026-13", "format": "xlsx"}, "无法识别"),
        ({"unit": "XC-S1", "period": "2026-10", "format": "xlsx"}, "街道出周报"),
        ({"unit": "XC", "period": "2026-10", "format": "doc"}, "格式须为"),
        ({"unit": "ZZ", "period": "2026-10", "format": "xlsx"}, "未知单位编码"),
    ],
)
def test_it_refuses_bad_input_in_chinese_and_keeps_the_form(
    town: Town, supervisor: User, form: dict[str, str], message: str
) -> None:
    response = signed_in(supervisor).post(GENERATE, form, follow=True)

    assert message in response.content.decode()
    assert response.context["asked"]["unit"] == form["unit"]
    assert not Bulletin.objects.exists()


def test_it_refuses_generating_to_posts_without_oversight(town: Town, zhao: User) -> None:
    response = signed_in(zhao).post(GENERATE, {"unit": "XC-S1-C1", "period": "2026-11-01", "format": "xlsx"})

    assert response.status_code == 403 and not Bulletin.objects.exists()


def test_it_refuses_generating_outside_the_callers_district(town: Town, supervisor: User) -> None:
    from civicgrid.org.models import Unit

    Unit.objects.create(code="DC", name="东城区", kind=Unit.Kind.DISTRICT)

    response = signed_in(supervisor).post(GENERATE, {"unit": "DC", "period": "2026-10", "format": "xlsx"})

    assert response.status_code == 403 and "东城区" in response.content.decode()
    assert not Bulletin.objects.exists()


def test_it_accepts_only_post_for_generating(supervisor: User) -> None:
    assert signed_in(supervisor).get(GENERATE).status_code == 405
