"""Routes of the setup pages: spreadsheet import/export and QR sign sheets (namespace "setup")."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "setup"
urlpatterns: list[URLPattern] = []
