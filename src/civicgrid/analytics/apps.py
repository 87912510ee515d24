"""The analytics app: statistics, and later rollups, bulletins and dashboards."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "civicgrid.analytics"
    label = "analytics"
    verbose_name = _("统计分析")
