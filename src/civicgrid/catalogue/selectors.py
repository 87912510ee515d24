"""Shared reads of the catalogue."""

from __future__ import annotations

from django.db.models import QuerySet

from civicgrid.catalogue.models import Item


def items_active() -> QuerySet[Item]:
    return Item.objects.filter(active=True).select_related("domain")


def item_by_code(*, code: str) -> Item | None:
    return Item.objects.filter(code=code).select_related("domain").first()
