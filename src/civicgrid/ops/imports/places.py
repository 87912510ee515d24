"""The building (楼栋) and household (住户) sheets: check them, then upsert in bulk."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from civicgrid.ops.imports.counts import Counts
from civicgrid.ops.imports.rows import (
    Context,
    RowReader,
    chunked,
    duplicate_code,
    first_seen,
    label_of,
    lookup,
    same,
)
from civicgrid.ops.sheets import Sheet
from civicgrid.org.models import Building, Household, Unit

BATCH = 500
CARE_ALIASES = {
    alias: code
    for code, names in {"red": ("红", "红色"), "yellow": ("黄", "黄色"), "green": ("绿", "绿色")}.items()
    for alias in names
}


@dataclass
class BuildingRow:
    row: int
    code: str
    name: str
    address: str
    grid_code: str
    lat: float | None
    lon: float | None

    def fields(self) -> tuple[object, ...]:
        return (self.name, self.address, self.grid_code, self.lat, self.lon)


@dataclass
class HouseholdRow:
    row: int
    building_code: str
    entrance: str
    room: str
    head_name: str
    phone: str
    members: int
    care_level: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.building_code, self.entrance, self.room)

    def fields(self) -> tuple[object, ...]:
        return (self.head_name, self.phone, self.members, self.care_level)


def check_buildings(sheet: Sheet, ctx: Context) -> list[BuildingRow]:
    seen: dict[str, int] = {}
    rows: list[BuildingRow] = []
    for number, values in sheet.rows:
        reader = RowReader(ctx, sheet, number, values)
        row = BuildingRow(
            row=number,
            code=reader.text("编码", max_length=40, required=True),
            name=reader.text("名称", max_length=100, required=True),
            address=reader.text("地址", max_length=200),
            grid_code=reader.text("所在网格编码", max_length=32, required=True),
            lat=reader.number("纬度", low=-90, high=90),
            lon=reader.number("经度", low=-180, high=180),
        )
        ctx.tick()
        _check_grid(reader, ctx, row.grid_code)
        if row.code and (first := first_seen(seen, row.code, number)) is not None:
            reader.fail(duplicate_code(row.code, first))
        elif row.code:
            ctx.building_codes.add(row.code)
            rows.append(row)
    return rows


def _check_grid(reader: RowReader, ctx: Context, code: str) -> None:
    kind = ctx.unit_kinds.get(code)
    if code and kind is None:
        reader.fail(_("所在网格编码“%(code)s”不存在") % {"code": code})
    elif code and kind and kind != Unit.Kind.GRID:
        reader.fail(
            _("“%(code)s”不是网格（类型为%(kind)s）") % {"code": code, "kind": label_of(Unit.Kind, kind)}
        )


def check_households(sheet: Sheet, ctx: Context) -> list[HouseholdRow]:
    levels = lookup(Household.CareLevel, CARE_ALIASES)
    seen: dict[tuple[str, str, str], int] = {}
    rows: list[HouseholdRow] = []
    for number, values in sheet.rows:
        reader = RowReader(ctx, sheet, number, values)
        row = HouseholdRow(
            row=number,
            building_code=reader.text("楼栋编码", max_length=40, required=True),
            entrance=reader.text("单元", max_length=16),
            room=reader.text("房号", max_length=16, required=True),
            head_name=reader.text("户主姓名", max_length=50, required=True),
            phone=reader.phone("电话"),
            members=reader.integer("人数", default=1, high=99),
            care_level=reader.choice("三色管理", levels, default=Household.CareLevel.GREEN),
        )
        ctx.tick()
        if row.building_code and row.building_code not in ctx.building_codes:
            reader.fail(_("楼栋编码“%(code)s”不存在") % {"code": row.building_code})
        if (first := first_seen(seen, row.key, number)) is not None:
            reader.fail(_("同一楼栋、单元、房号在本文件中重复（第 %(first)d 行已有）") % {"first": first})
        else:
            rows.append(row)
    return rows


def apply_buildings(rows: list[BuildingRow]) -> Counts:
    """Upsert by code; a building's QR token is kept (printed signs must go on working)."""
    counts = Counts()
    grids = dict(Unit.objects.filter(kind=Unit.Kind.GRID).values_list("code", "pk"))
    before = _buildings_by_code([row.code for row in rows])
    new: list[Building] = []
    changed: list[Building] = []
    for row in rows:
        current = before.get(row.code)
        if current is not None and same(_building_fields(current), row.fields()):
            counts.add(created=False, changed=False)
            continue
        building = current or Building(code=row.code)
        building.name, building.address, building.grid_id = row.name, row.address, grids[row.grid_code]
        building.lat, building.lon = row.lat, row.lon
        (changed if current is not None else new).append(building)
        counts.add(created=current is None, changed=True)
    Building.objects.bulk_create(new, batch_size=BATCH)
    Building.objects.bulk_update(changed, ["name", "address", "grid", "lat", "lon"], batch_size=BATCH)
    return counts


def _building_fields(building: Building) -> tuple[object, ...]:
    return (building.name, building.address, building.grid.code, building.lat, building.lon)


def _household_fields(household: Household) -> tuple[object, ...]:
    return (household.head_name, household.phone, household.members, household.care_level)


def _buildings_by_code(codes: list[str]) -> dict[str, Building]:
    found: dict[str, Building] = {}
    for batch in chunked(codes):
        found.update({b.code: b for b in Building.objects.filter(code__in=batch).select_related("grid")})
    return found


def apply_households(rows: list[HouseholdRow]) -> Counts:
    """Upsert by (building, 单元, 房号); only rows whose fields differ are written."""
    counts = Counts()
    buildings = _building_ids({row.building_code for row in rows})
    before = _households_by_key(buildings)
    new: list[Household] = []
    changed: list[Household] = []
    for row in rows:
        current = before.get(row.key)
        if current is not None and same(_household_fields(current), row.fields()):
            counts.add(created=False, changed=False)
            continue
        household = current or Household(
            building_id=buildings[row.building_code], entrance=row.entrance, room=row.room
        )
        household.head_name, household.phone = row.head_name, row.phone
        household.members, household.care_level = row.members, row.care_level
        (changed if current is not None else new).append(household)
        counts.add(created=current is None, changed=True)
    Household.objects.bulk_create(new, batch_size=BATCH)
    Household.objects.bulk_update(changed, ["head_name", "phone", "members", "care_level"], batch_size=BATCH)
    return counts


def _building_ids(codes: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in chunked(sorted(codes)):
        found.update(Building.objects.filter(code__in=batch).values_list("code", "pk"))
    return found


def _households_by_key(buildings: dict[str, int]) -> dict[tuple[str, str, str], Household]:
    code_of = {pk: code for code, pk in buildings.items()}
    found: dict[tuple[str, str, str], Household] = {}
    for batch in chunked(sorted(code_of)):
        for household in Household.objects.filter(building_id__in=batch):
            found[(code_of[household.building_id], household.entrance, household.room)] = household
    return found
