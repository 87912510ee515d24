"""App config of `catalogue`."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    name = "civicgrid.catalogue"
    label = "catalogue"
    verbose_name = _("事项清单")
