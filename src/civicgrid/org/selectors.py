"""Shared reads of the unit tree."""

from __future__ import annotations

import math

from django.db.models import QuerySet

from civicgrid.org import refcache
from civicgrid.org.models import Building, Unit

EARTH_RADIUS_METRES = 6_371_000.0


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
    """The active unit with this code (through the reference cache: every API request names some)."""
    return refcache.cached(
        refcache.key_for("unit", code), lambda: Unit.objects.filter(code=code, active=True).first()
    )


def building_by_code(*, code: str) -> Building | None:
    """The building with this code, with its grid (through the reference cache, as units)."""
    return refcache.cached(
        refcache.key_for("building", code),
        lambda: Building.objects.filter(code=code).select_related("grid").first(),
    )


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine); plenty accurate at 500 m."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_METRES * math.asin(math.sqrt(h))


def nearest_building(*, lat: float, lon: float, within: float) -> Building | None:
    """The closest building with coordinates within `within` metres (a bounding box narrows the query)."""
    dlat = math.degrees(within / EARTH_RADIUS_METRES)
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    candidates = Building.objects.filter(
        lat__range=(lat - dlat, lat + dlat), lon__range=(lon - dlon, lon + dlon), grid__active=True
    ).select_related("grid")
    scored = [
        (_metres(lat, lon, b.lat, b.lon), b) for b in candidates if b.lat is not None and b.lon is not None
    ]
    near = [pair for pair in scored if pair[0] <= within]
    return min(near, key=lambda pair: pair[0])[1] if near else None
