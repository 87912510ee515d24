"""Django admin for the catalogue: admins edit items here; retiring is unticking "active"."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from civicgrid.catalogue.models import Domain, Item


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin[Domain]):
    list_display = ["code", "name", "order"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin[Item]):
    list_display = [
        "code",
        "name",
        "domain",
        "level",
        "colour",
        "handler_level",
        "handler_department",
        "response_hours",
        "resolve_days",
        "active",
    ]
    list_filter = ["domain", "level", "colour", "active", "handler_level"]
    search_fields = ["code", "name", "keywords"]

    def has_delete_permission(self, request: HttpRequest, obj: Item | None = None) -> bool:
        return False  # items are retired, never deleted: old cases keep pointing at them
