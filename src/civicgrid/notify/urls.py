"""Routes of the staff inbox (namespace "notify"): the same views under the console and the phone pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from civicgrid.notify import views

app_name = "notify"
urlpatterns: list[URLPattern] = [
    path("console/messages/", views.inbox, {"phone": False}, name="inbox"),
    path("console/messages/<int:pk>/open/", views.open_item, {"phone": False}, name="open"),
    path("console/messages/read-all/", views.read_all, {"phone": False}, name="read-all"),
    path("m/messages/", views.inbox, {"phone": True}, name="phone-inbox"),
    path("m/messages/<int:pk>/open/", views.open_item, {"phone": True}, name="phone-open"),
    path("m/messages/read-all/", views.read_all, {"phone": True}, name="phone-read-all"),
]
