"""Domains and items of the catalogue; items are retired (active=False), never deleted."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.org.models import Unit


class Domain(models.Model):
    """A domain (领域) such as 综合执法 or 民生服务."""

    code = models.CharField(_("编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("领域")
        verbose_name_plural = _("领域")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class Colour(models.TextChoices):
    RED = "red", _("红色")  # most important and urgent
    ORANGE = "orange", _("橙色")
    YELLOW = "yellow", _("黄色")
    BLUE = "blue", _("蓝色")  # routine


class HandlerLevel(models.TextChoices):
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("村社区")
    STREET = "street", _("镇街")
    DISTRICT = "district", _("区县")
    DEPARTMENT = "department", _("职能部门")


class Item(models.Model):
    """One kind of problem (事项): its level, default handler and deadlines."""

    code = models.CharField(_("编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    domain = models.ForeignKey(Domain, verbose_name=_("领域"), on_delete=models.PROTECT, related_name="items")
    # 1 is the most serious (一级事项); level-1 items escalate sooner.
    level = models.PositiveSmallIntegerField(
        _("级别"), validators=[MinValueValidator(1), MaxValueValidator(3)], default=3
    )
    handler_level = models.CharField(_("默认承办层级"), max_length=16, choices=HandlerLevel.choices)
    # Set when handler_level is "department": the department code (e.g. "D-CG" 城管).
    handler_department = models.CharField(_("默认承办部门编码"), max_length=32, blank=True)
    response_hours = models.PositiveIntegerField(_("响应时限（小时）"), default=24)
    resolve_days = models.PositiveIntegerField(_("办结时限（工作日）"), default=7)
    colour = models.CharField(_("颜色"), max_length=8, choices=Colour.choices, default=Colour.BLUE)
    keywords = models.CharField(_("关键词"), max_length=300, blank=True, help_text=_("以逗号分隔"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("事项")
        verbose_name_plural = _("事项")
        ordering = ["domain__order", "level", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise models.ProtectedError("事项只能停用，不能删除", {self})

    @property
    def handler(self) -> str:
        """The default handler as one code: a department code, or a level name."""
        return self.handler_department or self.handler_level

    def default_handler_unit(self, *, place: Unit) -> Unit | None:
        """The unit this item goes to by default for a case located at `place`."""
        from civicgrid.org.selectors import unit_ancestors

        if self.handler_department:
            return Unit.objects.filter(code=self.handler_department, active=True).first()
        chain = [*unit_ancestors(unit=place), place]
        return next((unit for unit in reversed(chain) if unit.kind == self.handler_level), None)
