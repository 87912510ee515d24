"""The area tree (units), buildings and households."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.org.phones import normalise_phone

PATH_SEPARATOR = "/"


def new_building_token() -> str:
    """A random, unguessable token printed in the building's QR code."""
    return secrets.token_urlsafe(12)


class Unit(models.Model):
    """A node of the area tree, or a functional department hanging under the area level owning it."""

    class Kind(models.TextChoices):
        DISTRICT = "district", _("区县")  # the top of a deployment's tree; owns the command centre
        STREET = "street", _("镇街")  # a town or sub-district office
        COMMUNITY = "community", _("村社区")  # a village or residents' committee
        GRID = "grid", _("网格")  # the smallest area, 100–400 households with a grid worker
        DEPARTMENT = "department", _("职能部门")  # a functional department; not an area

    class Category(models.TextChoices):
        NONE = "", _("（非网格）")
        GENERAL = "general", _("综合网格")
        ENTERPRISE = "enterprise", _("专属网格·企业")
        PARK = "park", _("专属网格·园区")
        MARKET = "market", _("专属网格·市场")
        SCHOOL = "school", _("专属网格·学校")
        HOSPITAL = "hospital", _("专属网格·医院")
        OTHER = "other", _("专属网格·其他")

    AREA_KINDS = (Kind.DISTRICT, Kind.STREET, Kind.COMMUNITY, Kind.GRID)

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    category = models.CharField(_("网格类别"), max_length=16, choices=Category.choices, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of codes, "/D01/S01/C03/", so a subtree is one indexed prefix match.
    path = models.CharField(_("路径"), max_length=255, editable=False)
    depth = models.PositiveSmallIntegerField(_("层级"), default=0, editable=False)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["path"]
        indexes = [
            # Serves subtree queries `path LIKE '/D01/S01/%'`; the opclass lets PostgreSQL use it
            # whatever the database collation (ignored on SQLite, where LIKE prefix uses it as is).
            models.Index(fields=["path"], name="unit_path_idx", opclasses=["varchar_pattern_ops"]),
            # Serves "units of kind K under parent P" (API filters, dispatch pickers).
            models.Index(fields=["parent", "kind"], name="unit_parent_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def save(self, *args: object, **kwargs: object) -> None:
        old_path = self.path
        self.path = self.build_path()
        self.depth = self.path.count(PATH_SEPARATOR) - 2
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        if old_path and old_path != self.path:
            self._move_descendants(old_path)

    def _move_descendants(self, old_path: str) -> None:
        """Moving a unit (or recoding it) carries its whole subtree's paths along."""
        moved = list(Unit.objects.filter(path__startswith=old_path).exclude(pk=self.pk))
        for unit in moved:
            unit.path = self.path + unit.path[len(old_path) :]
            unit.depth = unit.path.count(PATH_SEPARATOR) - 2
        Unit.objects.bulk_update(moved, ["path", "depth"], batch_size=500)

    def build_path(self) -> str:
        prefix = self.parent.path if self.parent is not None else PATH_SEPARATOR
        return f"{prefix}{self.code}{PATH_SEPARATOR}"

    @property
    def is_area(self) -> bool:
        return self.kind in self.AREA_KINDS

    def ancestor_codes(self) -> list[str]:
        """Codes from the root down to this unit, included."""
        return [part for part in self.path.split(PATH_SEPARATOR) if part]


class Building(models.Model):
    """A building (楼栋) inside a grid, with the token its QR sign carries."""

    grid = models.ForeignKey(Unit, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="buildings")
    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    token = models.CharField(_("二维码令牌"), max_length=32, unique=True, default=new_building_token)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["code"]
        indexes = [
            # Serves the nearest-building lookup (a latitude band, then longitude, then distance).
            models.Index(fields=["lat", "lon"], name="building_latlon_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Household(models.Model):
    """A household (户) in a building: where the grid worker visits and whom they look after."""

    class CareLevel(models.TextChoices):
        GREEN = "green", _("绿色（常规）")  # ordinary household
        YELLOW = "yellow", _("黄色（关注）")  # needs attention: elderly living alone, disability…
        RED = "red", _("红色（重点）")  # vulnerable: visited most often

    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.CASCADE, related_name="households"
    )
    entrance = models.CharField(_("单元"), max_length=16, blank=True)
    room = models.CharField(_("房号"), max_length=16)
    head_name = models.CharField(_("户主姓名"), max_length=50)
    # Digits only (see org.phones.normalise_phone); shown through mask_phone to those without need.
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    members = models.PositiveSmallIntegerField(_("人数"), default=1)
    care_level = models.CharField(
        _("三色管理"), max_length=8, choices=CareLevel.choices, default=CareLevel.GREEN
    )

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        constraints = [
            models.UniqueConstraint(fields=["building", "entrance", "room"], name="household_room_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.building.name} {self.entrance}{self.room}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.phone = normalise_phone(self.phone)
        super().save(*args, **kwargs)  # type: ignore[arg-type]
