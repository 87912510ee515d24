"""QR signs for buildings: one PNG per building, and printable A4 sheets of four A6 signs each.

The QR code (segno) carries the absolute address of the building's public page. PDFs are drawn with
reportlab in its built-in CID font STSong-Light, which every PDF reader supplies for Chinese, so no
font file ships with the project. Modules of the QR code are drawn as vector rectangles: they stay
sharp at any print size.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import segno
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from civicgrid.accounts.models import Post, Role
from civicgrid.org.models import Building, Unit

FONT = "STSong-Light"
QR_ERROR = "m"  # 15 % of the code may be dirty or torn; segno raises it when the version has room
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules
PNG_SCALE = 10  # pixels per module: about 4 cm at 300 dpi for a typical building address
COLUMNS, ROWS = 2, 2
SIGNS_PER_PAGE = COLUMNS * ROWS  # four A6 signs per A4 page: cut along the dashed lines
# A web request draws at most this many signs (~20 ms each, mostly choosing the QR mask): 100 pages.
# `civicgrid qrsheet` has no limit; on the page a street is printed community by community.
MAX_SIGNS = 400
# The CID font's Unicode map lacks U+00B7 (·) but has the full-width middle dot (・), which brings
# its own spacing.
PRINTABLE = {" \u00b7 ": "\u30fb", "\u00b7": "\u30fb"}
BRAND = HexColor("#c62828")
MUTED = HexColor("#616e7c")


@dataclass(frozen=True)
class Sign:
    """What one building's sign shows."""

    url: str
    code: str
    name: str
    place: str  # the grid and address line under the name
    workers: tuple[tuple[str, str], ...]  # (name, phone) of the grid's active grid workers


def building_public_path(token: str) -> str:
    """The path of a building's public page; the literal /q/<token>/ until that route is mounted."""
    try:
        return reverse("public:building", args=[token])
    except NoReverseMatch:
        return f"/q/{token}/"


def qr_code(url: str) -> segno.QRCode:
    return segno.make(url, error=QR_ERROR, micro=False)


def qr_png(url: str) -> bytes:
    """The QR code alone as a PNG (black on white, with its quiet zone)."""
    out = io.BytesIO()
    qr_code(url).save(out, kind="png", scale=PNG_SCALE, border=QR_BORDER)
    return out.getvalue()


def buildings_under(unit: Unit) -> Iterator[Building]:
    """Buildings in the grids of `unit`'s subtree (the unit itself when it is a grid), in code order."""
    return (
        Building.objects.filter(grid__path__startswith=unit.path, grid__active=True)
        .select_related("grid")
        .order_by("grid__path", "code")
        .iterator(chunk_size=500)
    )


def grid_workers(grid_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
    """The active grid workers of each grid, as (name, phone): the card on the sign (三公开)."""
    posts = (
        Post.objects.filter(unit_id__in=grid_ids, role=Role.GRID_WORKER, active=True, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
    )
    found: dict[int, list[tuple[str, str]]] = {}
    for post in posts:
        found.setdefault(post.unit_id, []).append((str(post.user), post.user.phone))
    return found


def signs_for(unit: Unit, url_for: Callable[[str], str]) -> list[Sign]:
    """One sign per building under `unit`; `url_for(path)` makes the absolute address."""
    buildings = list(buildings_under(unit))
    workers = grid_workers({building.grid_id for building in buildings})
    return [
        Sign(
            url=url_for(building_public_path(building.token)),
            code=building.code,
            name=building.name,
            place=" · ".join(part for part in (building.grid.name, building.address) if part),
            workers=tuple(workers.get(building.grid_id, [])[:2]),
        )
        for building in buildings
    ]


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def sign_sheet_pdf(signs: Sequence[Sign], *, title: str) -> bytes:
    """A4 pages of SIGNS_PER_PAGE signs each, with dashed cut lines between them."""
    _register_font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    canvas.setTitle(title)
    canvas.setAuthor(_("网格全响应平台"))
    for start in range(0, len(signs), SIGNS_PER_PAGE):
        _cut_lines(canvas)
        for slot, sign in enumerate(signs[start : start + SIGNS_PER_PAGE]):
            SignPainter(canvas, slot).paint(sign)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _cut_lines(canvas: Canvas) -> None:
    width, height = A4
    canvas.saveState()
    canvas.setStrokeColor(Color(0.75, 0.75, 0.75))
    canvas.setDash(3, 3)
    canvas.line(width / 2, 0, width / 2, height)
    canvas.line(0, height / 2, width, height / 2)
    canvas.restoreState()


class SignPainter:
    """Draws one A6 sign in its quarter of the page, top to bottom."""

    def __init__(self, canvas: Canvas, slot: int) -> None:
        self.canvas = canvas
        self.width, self.height = A4[0] / COLUMNS, A4[1] / ROWS
        self.left = (slot % COLUMNS) * self.width
        self.bottom = A4[1] - (slot // COLUMNS + 1) * self.height
        self.centre = self.left + self.width / 2

    def paint(self, sign: Sign) -> None:
        top = self.bottom + self.height
        self.text(_("有呼必应 · 扫码上报"), top - 16 * mm, size=20, colour=BRAND)
        qr_bottom = self.qr(sign.url, top=top - 22 * mm, side=72 * mm)
        self.text(sign.name, qr_bottom - 9 * mm, size=15)
        self.text(sign.place, qr_bottom - 15 * mm, size=9, colour=MUTED)
        self.worker_card(sign.workers, qr_bottom - 24 * mm)
        footer = _("手机相机或微信扫码，无需下载 App · 楼栋编码 %(code)s") % {"code": sign.code}
        self.text(footer, self.bottom + 8 * mm, size=7.5, colour=MUTED)

    def text(self, text: str, y: float, *, size: float, colour: Color | None = None) -> None:
        """Centred text, shrunk to fit the sign's width less its margins."""
        for missing, printable in PRINTABLE.items():
            text = text.replace(missing, printable)
        room = self.width - 16 * mm
        while size > 6 and pdfmetrics.stringWidth(text, FONT, size) > room:
            size -= 0.5
        self.canvas.setFont(FONT, size)
        self.canvas.setFillColor(colour or Color(0, 0, 0))
        self.canvas.drawCentredString(self.centre, y, text)

    def qr(self, url: str, *, top: float, side: float) -> float:
        """Draw the code's dark modules, merged into runs per row; return the bottom edge."""
        matrix = qr_code(url).matrix
        modules = len(matrix) + 2 * QR_BORDER
        unit = side / modules
        x0, y0 = self.centre - side / 2, top
        self.canvas.setFillColor(Color(0, 0, 0))
        for r, row in enumerate(matrix):
            y = y0 - (QR_BORDER + r + 1) * unit
            for start, length in _dark_runs(row):
                x = x0 + (QR_BORDER + start) * unit
                self.canvas.rect(x, y, length * unit, unit, stroke=0, fill=1)
        return top - side

    def worker_card(self, workers: Sequence[tuple[str, str]], y: float) -> None:
        if not workers:
            self.text(_("网格员：正在安排"), y, size=11)
            return
        for name, phone in workers:
            line = _("网格员 %(name)s  电话 %(phone)s") % {"name": name, "phone": phone or "—"}
            self.text(line, y, size=12)
            y -= 6 * mm


def _dark_runs(row: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(start, length) of each run of dark modules in one matrix row."""
    start = None
    for index, dark in enumerate([*row, 0]):
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            yield start, index - start
            start = None
