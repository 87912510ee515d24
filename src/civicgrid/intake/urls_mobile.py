"""Routes of the mobile pages (namespace "mobile")."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "mobile"
urlpatterns: list[URLPattern] = []
