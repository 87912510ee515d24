"""Routes of the setup pages: spreadsheet import/export and QR sign sheets (namespace "setup")."""

from __future__ import annotations

from django.urls import URLPattern, path

from civicgrid.ops import views_setup as views

app_name = "setup"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("import/", views.import_upload, name="import"),
    path("import/<uuid:pk>/", views.import_status, name="import-status"),
    path("import/<uuid:pk>/confirm/", views.import_confirm, name="import-confirm"),
    path("import/<uuid:pk>/problems.csv", views.import_problems, name="import-problems"),
    path("export/<slug:kind>.<slug:fmt>", views.export_file, name="export"),
    path("qr/", views.qr_pick, name="qr"),
    path("qr/building/", views.qr_building_pick, name="qr-building-pick"),
    path("qr/building/<str:code>.png", views.qr_building, name="qr-building"),
    path("qr/<str:code>.pdf", views.qr_sheet, name="qr-sheet"),
]
