"""Django admin for users, posts and tokens."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from civicgrid.accounts.models import ApiToken, Post, User


class PostInline(admin.TabularInline[Post, User]):
    model = Post
    extra = 0
    raw_id_fields = ["unit"]


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    list_display = ["username", "display_name", "phone", "is_staff", "is_active"]
    search_fields = ["username", "display_name", "phone"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("CivicGrid", {"fields": ("display_name", "phone", "photo")}),
    )
    inlines = [PostInline]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin[Post]):
    list_display = ["user", "unit", "role", "active"]
    list_filter = ["role", "active"]
    search_fields = ["user__username", "user__display_name", "unit__name", "unit__code"]
    raw_id_fields = ["user", "unit"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["prefix", "user", "created_at", "revoked"]
    readonly_fields = ["digest", "prefix", "created_at"]
    list_filter = ["revoked"]
