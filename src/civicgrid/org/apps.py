"""App config of `org`."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "civicgrid.org"
    label = "org"
    verbose_name = _("区域与楼栋")
