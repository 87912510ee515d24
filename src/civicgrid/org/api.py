"""GET /api/v1/units: the unit tree, filtered by kind and parent."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from civicgrid.org.models import Unit

router = Router(tags=["units"])


class UnitOut(Schema):
    code: str
    name: str
    kind: str
    category: str
    parent: str | None


class UnitList(Schema):
    items: list[UnitOut]
    next_cursor: str | None = None


def unit_out(unit: Unit, parent_code: str | None) -> UnitOut:
    return UnitOut(code=unit.code, name=unit.name, kind=unit.kind, category=unit.category, parent=parent_code)


@router.get("", response=UnitList, summary="List units (kind, parent filters)")
def list_units(request: HttpRequest, kind: str | None = None, parent: str | None = None) -> UnitList:
    """All active units, ordered by tree path; `parent` is a unit code, `kind` a unit kind."""
    qs = Unit.objects.filter(active=True).select_related("parent").order_by("path")
    if kind:
        qs = qs.filter(kind=kind)
    if parent:
        qs = qs.filter(parent__code=parent)
    return UnitList(items=[unit_out(u, u.parent.code if u.parent else None) for u in qs])
