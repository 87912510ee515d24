"""Django admin for the area tree, buildings and households."""

from __future__ import annotations

from django.contrib import admin

from civicgrid.org.models import Building, Household, Unit


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin[Unit]):
    list_display = ["code", "name", "kind", "category", "parent", "active"]
    list_filter = ["kind", "category", "active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
    readonly_fields = ["path", "depth"]


class HouseholdInline(admin.TabularInline[Household, Building]):
    model = Household
    extra = 0


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin[Building]):
    list_display = ["code", "name", "grid", "address"]
    search_fields = ["code", "name", "address"]
    raw_id_fields = ["grid"]
    readonly_fields = ["token"]
    inlines = [HouseholdInline]


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin[Household]):
    list_display = ["building", "entrance", "room", "head_name", "members", "care_level"]
    list_filter = ["care_level"]
    search_fields = ["head_name", "building__name", "phone"]
    raw_id_fields = ["building"]
