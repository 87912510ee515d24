"""App config of `accounts`."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "civicgrid.accounts"
    label = "accounts"
    verbose_name = _("人员与岗位")

    def ready(self) -> None:
        from civicgrid.org import refcache

        # Here, so that every process that can change people, places or the catalogue (web,
        # worker, imports, the shell) retires the reference cache when it does.
        refcache.connect()
