"""GET /api/v1/catalogue/items: the active catalogue."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from civicgrid.catalogue.selectors import items_active

router = Router(tags=["catalogue"])


class ItemOut(Schema):
    code: str
    name: str
    domain: str
    domain_name: str
    level: int
    colour: str
    response_hours: int
    resolve_days: int
    handler: str
    keywords: list[str]


class ItemList(Schema):
    items: list[ItemOut]
    next_cursor: str | None = None


@router.get("/items", response=ItemList, summary="List active catalogue items")
def list_items(request: HttpRequest, domain: str | None = None, level: int | None = None) -> ItemList:
    """`handler` is a department code or a level name (grid, community, street, district)."""
    qs = items_active()
    if domain:
        qs = qs.filter(domain__code=domain)
    if level:
        qs = qs.filter(level=level)
    return ItemList(
        items=[
            ItemOut(
                code=i.code,
                name=i.name,
                domain=i.domain.code,
                domain_name=i.domain.name,
                level=i.level,
                colour=i.colour,
                response_hours=i.response_hours,
                resolve_days=i.resolve_days,
                handler=i.handler,
                keywords=[k.strip() for k in i.keywords.split(",") if k.strip()],
            )
            for i in qs
        ]
    )
