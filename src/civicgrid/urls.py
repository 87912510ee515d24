"""URL map: admin, the JSON API, Open311."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from civicgrid.api import api

admin.site.site_header = _("网格全响应平台 · 管理")
admin.site.site_title = _("网格全响应平台")
admin.site.index_title = _("系统设置")

urlpatterns = [
    # The front door sends each signed-in person to their own workspace.
    path("", RedirectView.as_view(url="/home/", permanent=False)),
    path("favicon.ico", RedirectView.as_view(url="/static/civicgrid/favicon.svg", permanent=True)),
    path("", include("civicgrid.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("open311/v2/", include("civicgrid.intake.open311_urls")),
    path("", include("civicgrid.intake.urls_public")),
    # The staff inbox, under both workspaces: /console/messages/ and /m/messages/.
    path("", include("civicgrid.notify.urls")),
    path("m/", include("civicgrid.intake.urls_mobile")),
    path("console/", include("civicgrid.intake.urls_console")),
    path("console/setup/", include("civicgrid.ops.urls_setup")),
    path("console/", include("civicgrid.analytics.urls")),  # /console/assessment/, dashboards
]
