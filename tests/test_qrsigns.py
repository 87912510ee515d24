"""QR signs: one sign per building on A4 sheets, the grid worker's card, and a PNG holding the right URL."""

from __future__ import annotations

import base64
import io
import re
import zlib
from pathlib import Path

import pytest
import segno
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from PIL import Image

from civicgrid.accounts.models import Post, Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.ops import qrsigns
from civicgrid.org.models import Building
from tests.conftest import Town

SETUP = "/console/setup/"
PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")


@pytest.fixture
def admin_client(town: Town) -> Client:
    user = User.objects.create_user(username="guan", password="pw-for-tests-1", display_name="管理员")
    post_grant(user=user, unit=town.district, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def more_buildings(town: Town) -> None:
    """Four more buildings: three in 西里一网格, one in the neighbouring grid (same community)."""
    for n in range(2, 5):
        Building.objects.create(grid=town.grid, code=f"B-000{n}", name=f"西里{n}号楼")
    Building.objects.create(grid=town.neighbour_grid, code="B-0101", name="西里二区1号楼")


def pages_of(pdf: bytes) -> int:
    return len(PAGE.findall(pdf))


def pdf_texts(pdf: bytes) -> list[str]:
    """The strings shown with Tj in the PDF's page streams (ASCII85 + Flate, text in UCS-2)."""
    texts = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        content = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            texts.append(_unescape(literal).decode("utf-16-be"))
    return texts


def _unescape(literal: bytes) -> bytes:
    """A PDF string literal's bytes: \\ddd octal escapes and \\( \\) \\\\ pairs."""
    named = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        return bytes([int(code, 8)]) if code[:1].isdigit() else named.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def test_it_prints_one_sign_per_building_four_to_an_a4_page(admin_client: Client, town: Town) -> None:
    more_buildings(town)

    community = admin_client.get(f"{SETUP}qr/XC-S1-C1.pdf")
    grid = admin_client.get(f"{SETUP}qr/XC-S1-C1-G1.pdf")

    assert community["Content-Type"] == "application/pdf"
    assert community.content.startswith(b"%PDF")
    assert pages_of(community.content) == 2  # five buildings
    assert pages_of(grid.content) == 1  # four buildings
    assert b"STSong-Light" in community.content
    assert community["Content-Disposition"] == 'inline; filename="qr-XC-S1-C1.pdf"'


def test_it_puts_the_building_url_name_and_grid_worker_card_on_each_sign(town: Town, wang: User) -> None:
    wang.phone = "13611112222"
    wang.save()
    gone = User.objects.create_user(username="gone", display_name="旧网格员")
    Post.objects.create(user=gone, unit=town.grid, role=Role.GRID_WORKER, active=False)
    more_buildings(town)

    signs = qrsigns.signs_for(town.community, lambda path: "https://grid.example.cn" + path)

    first = signs[0]
    assert [sign.code for sign in signs] == ["B-0001", "B-0002", "B-0003", "B-0004", "B-0101"]
    token = town.building.token
    assert qrsigns.building_public_path("abc") == "/q/abc/"
    assert first.url == "https://grid.example.cn" + qrsigns.building_public_path(token)
    assert first.url.endswith(f"/q/{token}/") or first.url.endswith(f"/q/{token}")
    assert (first.name, first.workers) == ("西里1号楼", (("王网格", "13611112222"),))
    assert first.place == "西里一网格 · 西里1号"
    assert signs[-1].workers == ()  # nobody holds the neighbouring grid's post here


def test_it_draws_the_wording_name_and_card_in_the_pdf(town: Town, wang: User) -> None:
    signs = qrsigns.signs_for(town.grid, lambda path: "https://grid.example.cn" + path)

    texts = pdf_texts(qrsigns.sign_sheet_pdf(signs, title="西里一网格"))

    assert "有呼必应・扫码上报" in texts  # the CID font has no U+00B7, so ・ stands in
    assert "西里1号楼" in texts and "网格员 王网格  电话 —" in texts


def test_it_serves_a_building_png_whose_modules_encode_the_building_url(
    admin_client: Client, town: Town
) -> None:
    response = admin_client.get(f"{SETUP}qr/building/B-0001.png")

    expected = "http://testserver" + qrsigns.building_public_path(town.building.token)
    matrix = segno.make(expected, error="m", micro=False).matrix
    image = Image.open(io.BytesIO(response.content)).convert("L")
    scale, border = qrsigns.PNG_SCALE, qrsigns.QR_BORDER
    assert image.size == ((len(matrix) + 2 * border) * scale,) * 2
    drawn = [
        [
            image.getpixel(((border + c) * scale + scale // 2, (border + r) * scale + scale // 2)) == 0
            for c in range(len(matrix))
        ]
        for r in range(len(matrix))
    ]
    assert drawn == [[bool(module) for module in row] for row in matrix]
    assert "B-0001-" in response["Content-Disposition"] and "utf-8''" in response["Content-Disposition"]


def test_it_turns_the_no_javascript_forms_into_the_files(admin_client: Client) -> None:
    sheet = admin_client.get(f"{SETUP}qr/", {"unit": " XC-S1-C1 "})
    png = admin_client.get(f"{SETUP}qr/building/", {"building": "B-0001"})

    assert sheet.status_code == 302 and sheet["Location"] == f"{SETUP}qr/XC-S1-C1.pdf"
    assert png.status_code == 302 and png["Location"] == f"{SETUP}qr/building/B-0001.png"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"unit": "NOPE"}, "编码“NOPE”不存在"),
        ({"unit": "D-CG"}, "是职能部门，没有楼栋"),
        ({"unit": ""}, "这个字段是必填项"),
    ],
)
def test_it_says_why_it_cannot_print_a_sheet(
    admin_client: Client, query: dict[str, str], reason: str
) -> None:
    response = admin_client.get(f"{SETUP}qr/", query)

    assert response.status_code == 200 and reason in response.content.decode()


def test_it_explains_an_area_without_buildings_and_hides_departments(admin_client: Client) -> None:
    empty = admin_client.get(f"{SETUP}qr/XC-S1-C2-G1.pdf", follow=True)

    assert "下没有楼栋" in empty.content.decode()
    assert admin_client.get(f"{SETUP}qr/D-CG.pdf").status_code == 404
    assert admin_client.get(f"{SETUP}qr/building/NOPE.png").status_code == 404


def test_it_writes_a_sheet_from_the_command_line(town: Town, tmp_path: Path) -> None:
    out = tmp_path / "signs.pdf"

    call_command("qrsheet", "XC-S1-C1", str(out), "--base-url", "https://grid.example.cn/")

    assert out.read_bytes().startswith(b"%PDF") and pages_of(out.read_bytes()) == 1


@override_settings(CSRF_TRUSTED_ORIGINS=[])
def test_it_asks_the_command_line_for_the_public_address(town: Town, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--base-url"):
        call_command("qrsheet", "XC-S1-C1", str(tmp_path / "x.pdf"))
    with pytest.raises(CommandError, match="NOPE"):
        call_command("qrsheet", "NOPE", str(tmp_path / "x.pdf"), "--base-url", "https://a.cn")
