"""Shared reads of the unit tree."""

from __future__ import annotations

from django.db.models import QuerySet

from civicgrid.org.models import Unit


def unit_subtree(*, unit: Unit) -> QuerySet[Unit]:
    """The unit and everything below it (one indexed prefix match on the materialised path)."""
    return Unit.objects.filter(path__startswith=unit.path)


def unit_ancestors(*, unit: Unit) -> QuerySet[Unit]:
    """The unit's ancestors from the root down, without the unit itself."""
    return Unit.objects.filter(code__in=unit.ancestor_codes()[:-1]).order_by("depth")


def area_parent(*, unit: Unit) -> Unit | None:
    """The nearest area unit above `unit` (a department's owning area, a grid's community…)."""
    return unit_ancestors(unit=unit).filter(kind__in=Unit.AREA_KINDS).order_by("-depth").first()


def district_of(*, unit: Unit) -> Unit:
    """The district at the root of `unit`'s tree (the unit itself when it is the district)."""
    root_code = unit.ancestor_codes()[0]
    return unit if unit.code == root_code else Unit.objects.get(code=root_code)


def unit_by_code(*, code: str) -> Unit | None:
    return Unit.objects.filter(code=code, active=True).first()
