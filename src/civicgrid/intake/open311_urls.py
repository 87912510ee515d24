"""Open311 GeoReport v2 routes (filled in by intake.open311)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
