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
    # Until the staff console exists, the front door is the administration site.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("open311/v2/", include("civicgrid.intake.open311_urls")),
]
