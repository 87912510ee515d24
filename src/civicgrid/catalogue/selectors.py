"""Shared reads of the catalogue."""

from __future__ import annotations

from django.db.models import QuerySet

from civicgrid.catalogue.models import Item
from civicgrid.org import refcache


def items_active() -> QuerySet[Item]:
    return Item.objects.filter(active=True).select_related("domain")


def item_by_code(*, code: str) -> Item | None:
    """The item with this code, retired or not, with its domain (through the reference cache)."""
    return refcache.cached(
        refcache.key_for("item", code),
        lambda: Item.objects.filter(code=code).select_related("domain").first(),
    )
