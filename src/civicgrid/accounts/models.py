"""The user, their posts (a role in a unit) and their API tokens."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.org.models import Unit


class User(AbstractUser):
    """A person who signs in: staff, grid worker, volunteer or integrator account."""

    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    # Shown on the public card of a grid worker (三公开), so residents know who to call.
    photo = models.ImageField(_("照片"), upload_to="people/", blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")  # looks after a grid: reports, handles small things
    GRID_LEADER = "grid_leader", _("网格长")  # leads a grid or a community's grids
    HOUSEHOLD_LEAD = "household_lead", _("中心户")  # a volunteer looking after ≤ 30 households
    INFORMANT = "informant", _("信息员")  # a volunteer who reports what they see
    COMMUNITY_LIAISON = "community_liaison", _("社区联络员")  # handles cases given to a community
    STREET_LIAISON = "street_liaison", _("街道联络员")  # handles cases given to a street
    DISPATCHER = "dispatcher", _("受理派单员")  # command centre: accept, classify, dispatch
    HANDLER = "handler", _("承办人")  # handles cases given to their unit
    UNIT_HEAD = "unit_head", _("单位负责人")  # answers for the unit: approves its returns, summons
    SUPERVISOR = "supervisor", _("督办员")  # flags, approves extensions, reviews reopen requests
    LEADER = "leader", _("领导")  # reads everything in the district, may flag for supervision
    ADMIN = "admin", _("管理员")  # sets up units, catalogue and accounts


class Post(models.Model):
    """A role a user holds in a unit; one user may hold several posts."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="posts")
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="posts")
    role = models.CharField(_("岗位"), max_length=20, choices=Role.choices)
    active = models.BooleanField(_("在岗"), default=True)
    # The services this post-holder offers residents, shown on their public card (三公开).
    duties = models.TextField(_("服务事项"), blank=True)

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        constraints = [models.UniqueConstraint(fields=["user", "unit", "role"], name="post_unique")]
        indexes = [
            # Serves "who holds role R in unit U" (dispatch notifications, the grid worker's card).
            models.Index(fields=["unit", "role"], name="post_unit_role_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.unit.name} · {self.get_role_display()}"


def hash_secret(raw: str) -> str:
    """Tokens and keys are stored as SHA-256 digests; the clear value is shown only once."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the HTTP API, acting as its user."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(_("摘要"), max_length=64, unique=True)
    prefix = models.CharField(_("前缀"), max_length=8)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    revoked = models.BooleanField(_("已吊销"), default=False)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
