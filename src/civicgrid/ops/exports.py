"""Exports in exactly the import formats, so an export imported again changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from civicgrid.accounts.models import Post, Role
from civicgrid.ops.imports.rows import label_of
from civicgrid.ops.sheets import KIND_ORDER, Cell, write_csv, write_xlsx
from civicgrid.org.models import Building, Household, Unit

FORMATS = ("xlsx", "csv")
ALL = "all"  # every kind in one workbook (xlsx only)


def unit_rows() -> Iterator[list[Cell]]:
    """Ordered by path, so every parent comes before its children."""
    for unit in Unit.objects.select_related("parent").order_by("path"):
        yield [
            unit.code,
            unit.name,
            label_of(Unit.Kind, unit.kind),
            unit.parent.code if unit.parent is not None else "",
            label_of(Unit.Category, unit.category) if unit.category else "",
            unit.phone,
            unit.lat,
            unit.lon,
        ]


def building_rows() -> Iterator[list[Cell]]:
    for building in Building.objects.select_related("grid").order_by("code").iterator(chunk_size=2000):
        yield [building.code, building.name, building.address, building.grid.code, building.lat, building.lon]


def household_rows() -> Iterator[list[Cell]]:
    households = Household.objects.select_related("building").order_by("building__code", "entrance", "room")
    for h in households.iterator(chunk_size=2000):
        level = label_of(Household.CareLevel, h.care_level)
        yield [h.building.code, h.entrance, h.room, h.head_name, h.phone, h.members, level]


def staff_rows() -> Iterator[list[Cell]]:
    """One row per active post (a person with three posts has three rows repeating name and phone)."""
    posts = (
        Post.objects.filter(active=True)
        .select_related("user", "unit")
        .order_by("user__username", "unit__code", "role")
    )
    for post in posts.iterator(chunk_size=2000):
        user = post.user
        role = label_of(Role, post.role)
        yield [user.username, user.display_name, user.phone, post.unit.code, role, post.duties]


ROWS: dict[str, Callable[[], Iterator[list[Cell]]]] = {
    "units": unit_rows,
    "buildings": building_rows,
    "households": household_rows,
    "staff": staff_rows,
}


def export_kinds() -> tuple[str, ...]:
    return (*KIND_ORDER, ALL)


def export(kind: str, fmt: str) -> bytes:
    """The file for `kind` (or ALL, xlsx only) in `fmt`; ValueError for an unknown pair."""
    if fmt == "csv" and kind in ROWS:
        return write_csv(kind, ROWS[kind]())
    if fmt == "xlsx" and kind in ROWS:
        return write_xlsx([(kind, ROWS[kind]())])
    if fmt == "xlsx" and kind == ALL:
        return write_xlsx([(name, ROWS[name]()) for name in KIND_ORDER])
    raise ValueError(f"no export for {kind}.{fmt}")


def content_type(fmt: str) -> str:
    if fmt == "xlsx":
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "text/csv; charset=utf-8"
