"""The area tree sheet (区域): check codes, types and parent links (no cycles), then upsert by code."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from civicgrid.ops.imports.counts import Counts
from civicgrid.ops.imports.rows import Context, RowReader, duplicate_code, first_seen, lookup, same
from civicgrid.ops.sheets import Sheet
from civicgrid.org.models import Unit

CODE_MAX = Unit._meta.get_field("code").max_length or 32


@dataclass
class UnitRow:
    row: int
    code: str
    name: str
    kind: str
    parent_code: str
    category: str
    phone: str
    lat: float | None
    lon: float | None
    depth: int = 0

    def same_as(self, unit: Unit) -> bool:
        parent_code = unit.parent.code if unit.parent is not None else ""
        current = (unit.name, unit.kind, parent_code, unit.category, unit.phone, unit.lat, unit.lon)
        return same(current, self.fields())

    def fields(self) -> tuple[object, ...]:
        return (self.name, self.kind, self.parent_code, self.category, self.phone, self.lat, self.lon)


def _read(reader: RowReader, kinds: dict[str, str], categories: dict[str, str]) -> UnitRow:
    row = UnitRow(
        row=reader.row,
        code=reader.text("编码", max_length=CODE_MAX, required=True),
        name=reader.text("名称", max_length=100, required=True),
        kind=reader.choice("类型", kinds),
        parent_code=reader.text("上级编码", max_length=CODE_MAX),
        category=reader.choice("网格类别", categories),
        phone=reader.phone("电话", keep_format=True),
        lat=reader.number("纬度", low=-90, high=90),
        lon=reader.number("经度", low=-180, high=180),
    )
    if not reader.values.get("类型", "").strip():
        reader.fail(_("“类型”不能为空"))
    if row.category and row.kind and row.kind != Unit.Kind.GRID:
        reader.fail(_("只有网格才能填写“网格类别”"))
    return row


def check_units(sheet: Sheet, ctx: Context) -> list[UnitRow]:
    """Every row checked alone, then the parent links of the file merged with the database's tree."""
    kinds, categories = lookup(Unit.Kind), lookup(Unit.Category)
    seen: dict[str, int] = {}
    rows: list[UnitRow] = []
    for number, values in sheet.rows:
        reader = RowReader(ctx, sheet, number, values)
        row = _read(reader, kinds, categories)
        ctx.tick()
        if not row.code:
            continue
        first = first_seen(seen, row.code, number)
        if first is not None:
            reader.fail(duplicate_code(row.code, first))
            continue
        # Declared even when another cell is bad, so rows below don't also report it as unknown.
        ctx.unit_kinds[row.code] = row.kind
        ctx.unit_parents[row.code] = row.parent_code
        rows.append(row)
    for row in rows:
        _check_parent(sheet, ctx, row)
    return sorted(rows, key=lambda r: r.depth)


def _check_parent(sheet: Sheet, ctx: Context, row: UnitRow) -> None:
    """The parent exists (in the file or the database) and following parents never comes back here."""
    if row.parent_code == row.code:
        ctx.flag(sheet, row.row, _("“上级编码”不能是本单位自己"))
    elif row.parent_code and row.parent_code not in ctx.unit_kinds:
        ctx.flag(sheet, row.row, _("上级编码“%(code)s”不存在") % {"code": row.parent_code})
    else:
        chain = _ancestors(ctx.unit_parents, row.code)
        if len(chain) > 1 and chain[-1] == row.code:
            ctx.flag(sheet, row.row, _("上级关系成环：%(chain)s") % {"chain": " → ".join(chain)})
        else:
            row.depth = len(chain) - 1


def _ancestors(parents: dict[str, str], code: str) -> list[str]:
    """The code and its ancestors up to a root; ends with the code again when the links loop."""
    chain, current, seen = [code], parents.get(code, ""), {code}
    while current:
        chain.append(current)
        if current in seen:
            break
        seen.add(current)
        current = parents.get(current, "")
    return chain


def apply_units(rows: list[UnitRow]) -> Counts:
    """Upsert by code, parents first; Unit.save() computes each path and carries moved subtrees."""
    counts = Counts()
    before = {unit.code: unit for unit in Unit.objects.select_related("parent")}
    for row in rows:
        current = before.get(row.code)
        if current is not None and row.same_as(current):
            counts.add(created=False, changed=False)
            continue
        # Read again: an earlier save in this loop may have moved this unit's or its parent's path.
        unit = Unit.objects.filter(code=row.code).first() or Unit(code=row.code)
        unit.parent = Unit.objects.get(code=row.parent_code) if row.parent_code else None
        unit.name, unit.kind, unit.category = row.name, row.kind, row.category
        unit.phone, unit.lat, unit.lon = row.phone, row.lat, row.lon
        unit.save()
        counts.add(created=current is None, changed=True)
    return counts
