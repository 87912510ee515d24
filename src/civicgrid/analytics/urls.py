"""Routes of the statistics pages in the console (namespace "analytics", under /console/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from civicgrid.analytics import views_assessment, views_bulletins, views_dashboard

app_name = "analytics"
# Other analytics pages (dashboards…) append their routes to this list.
urlpatterns: list[URLPattern] = [
    path("assessment/", views_assessment.assessment_page, name="assessment"),
    path("assessment/download.<str:fmt>", views_assessment.assessment_download, name="assessment-download"),
    path("dashboard/", views_dashboard.page, name="dashboard"),
    path("dashboard/screen/", views_dashboard.screen, name="dashboard-screen"),
    path("dashboard/data/", views_dashboard.data, name="dashboard-data"),
    path("bulletins/", views_bulletins.bulletin_list, name="bulletins"),
    path("bulletins/generate/", views_bulletins.bulletin_generate, name="bulletin-generate"),
    path("bulletins/<int:pk>/download/", views_bulletins.bulletin_download, name="bulletin-download"),
]
