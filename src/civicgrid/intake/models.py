"""Keys that let an integrator's system submit cases through Open311 (GeoReport v2)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """An Open311 `api_key`: cases posted with it are created by its integrator account."""

    name = models.CharField(_("名称"), max_length=100)
    # The integrator account (no posts) recorded as `created_by` of every case posted with the key.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接入账号"),
        on_delete=models.CASCADE,
        related_name="open311_keys",
    )
    # Only the SHA-256 of the key is kept; the clear key is printed once, when it is issued.
    digest = models.CharField(_("摘要"), max_length=64, unique=True)
    prefix = models.CharField(_("前缀"), max_length=8)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    revoked = models.BooleanField(_("已吊销"), default=False)

    class Meta:
        verbose_name = _("Open311 密钥")
        verbose_name_plural = _("Open311 密钥")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
