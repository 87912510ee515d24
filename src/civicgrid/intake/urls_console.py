"""Routes of the console pages (namespace "console")."""

from __future__ import annotations

from django.urls import URLPattern, path

from civicgrid.intake.views import console, hotline

app_name = "console"
urlpatterns: list[URLPattern] = [
    path("", console.queues, name="queues"),
    path("inbox/", console.inbox, name="inbox"),
    path("cases/<str:number>/", console.case_page, name="case"),
    path("cases/<str:number>/actions/<str:action>/", console.case_action, name="case-action"),
    path("files/<int:pk>/", console.attachment_file, name="file"),
    path("hotline/", hotline.hotline, name="hotline"),
    path("hotline/history/", hotline.history, name="hotline-history"),
    path("hotline/buildings/", hotline.buildings, name="hotline-buildings"),
]
