"""Django admin for cases (read-mostly: changes go through services) and the calendar overrides."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from civicgrid.cases.models import CalendarOverride, Case, Event, ExclusionRequest


class EventInline(admin.TabularInline[Event, Case]):
    model = Event
    extra = 0
    can_delete = False
    fields = ("seq", "action", "actor", "unit", "from_status", "to_status", "note", "at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Case | None = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    """Cases are shown, never edited here: every change must leave an event through the services."""

    list_display = ["number", "kind", "status", "item", "place", "owner", "created_at", "resolve_by"]
    list_filter = ["status", "kind", "channel", "proactive", ("excluded_at", admin.EmptyFieldListFilter)]
    search_fields = ["number", "title", "description", "reporter_phone"]
    inlines = [EventInline]

    def has_change_permission(self, request: HttpRequest, obj: Case | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Case | None = None) -> bool:
        return False


@admin.register(ExclusionRequest)
class ExclusionRequestAdmin(admin.ModelAdmin[ExclusionRequest]):
    """考核剔除 requests, shown only: asking and deciding go through the services, which record events."""

    list_display = ["case", "unit", "reason", "status", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status", "reason"]
    search_fields = ["case__number", "note"]
    date_hierarchy = "requested_at"
    list_select_related = ["case", "unit", "decided_by"]

    def has_change_permission(self, request: HttpRequest, obj: ExclusionRequest | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExclusionRequest | None = None) -> bool:
        return False


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin[CalendarOverride]):
    list_display = ["day", "is_workday", "note"]
    date_hierarchy = "day"
