"""The analytics app: statistics, rollups, assessment, bulletins and dashboards."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "civicgrid.analytics"
    label = "analytics"
    verbose_name = _("统计分析")

    def ready(self) -> None:
        from civicgrid.analytics.rollups import on_event_recorded
        from civicgrid.cases.signals import event_recorded

        event_recorded.connect(on_event_recorded, dispatch_uid="analytics.rollups")
