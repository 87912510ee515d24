"""Routes of the public pages (namespace "public"): building QR page, report, tracking and rating."""

from __future__ import annotations

from django.urls import URLPattern, path

from civicgrid.intake.views import public

app_name = "public"
urlpatterns: list[URLPattern] = [
    path("q/card/<int:user_id>/photo/", public.worker_photo, name="worker_photo"),
    path("q/<str:token>/", public.building, name="building"),
    path("q/<str:token>/report/", public.report, name="report"),
    path("t/", public.lookup, name="lookup"),
    path("t/<str:code>/", public.track, name="track"),
    path("t/<str:code>/rate/", public.rate, name="rate"),
    path("t/<str:code>/files/<int:attachment_id>/", public.attachment, name="attachment"),
]
