"""Routes of the mobile pages (namespace "mobile")."""

from __future__ import annotations

from django.urls import path

from civicgrid.intake.views import mobile

app_name = "mobile"
urlpatterns = [
    path("", mobile.home, name="home"),
    path("snap/", mobile.snap, name="snap"),
    path("drafts/", mobile.drafts, name="drafts"),
    path("cases/<str:number>/", mobile.case_page, name="case"),
    path("cases/<str:number>/<slug:action>/", mobile.act, name="act"),
    path("files/<int:pk>/", mobile.attachment_file, name="file"),
]
