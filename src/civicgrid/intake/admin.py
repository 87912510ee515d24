"""Django admin for Open311 keys: listed and revoked here, issued only by `civicgrid apikey create`."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from civicgrid.intake.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ["name", "prefix", "user", "created_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["digest", "prefix", "created_at", "user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key made here would have no clear value anyone ever saw; the command prints it once.
        return False
