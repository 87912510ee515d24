"""What a simulation writes about: the district's areas, buildings, departments, items, staff (in memory)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from civicgrid.accounts.models import Post, Role, User
from civicgrid.catalogue.models import Item
from civicgrid.ops.demo import ACTING_ROLES, INTEGRATOR, DemoSize, build_demo
from civicgrid.ops.demo_cases import REPORT_ITEMS
from civicgrid.ops.demo_names import DEDICATED_ITEMS
from civicgrid.org.models import Building, Unit

# Catalogue level 1 (most serious) is rare, level 3 (routine) common.
LEVEL_WEIGHTS = {1: 1.0, 2: 3.0, 3: 8.0}


class SimulationError(Exception):
    """The arguments or the database do not allow a simulation (the message says why, in Chinese)."""


@dataclass(frozen=True)
class Place:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    category: str = ""
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Spot:
    """A building a case may be located at."""

    id: int
    name: str
    address: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class Topic:
    """A catalogue item as the simulation uses it."""

    id: int
    code: str
    name: str
    domain: str
    level: int
    handler_level: str
    handler_department: str
    response_hours: int
    resolve_days: int


@dataclass
class World:
    """Everything read once before the first case is written."""

    district: Place
    units: dict[int, Place]
    grids: list[Place]
    dedicated: list[Place]
    buildings: dict[int, list[Spot]]
    departments: list[Place]
    topics: list[Topic]
    by_code: dict[str, Topic]
    centre: int | None = None
    supervisor: int | None = None
    leader: int | None = None
    integrator: int | None = None
    acting: dict[int, int] = field(default_factory=dict)
    people: dict[int, tuple[str, str]] = field(default_factory=dict)  # staff reporting in their own name
    _leads: dict[tuple[int, int], int] = field(default_factory=dict)

    def area_parent(self, unit_id: int) -> int | None:
        """The nearest area unit above `unit_id` (policy.escalation_target's answer), None at the top."""
        parent = self.units[unit_id].parent_id
        while parent is not None and self.units[parent].kind == Unit.Kind.DEPARTMENT:
            parent = self.units[parent].parent_id
        return parent

    def lead(self, topic: Topic, grid: Place) -> int:
        """Item.default_handler_unit for the grid; the district when the catalogue names no such unit."""
        key = (topic.id, grid.id)
        if key not in self._leads:
            self._leads[key] = self._default_handler(topic, grid)
        return self._leads[key]

    def _default_handler(self, topic: Topic, grid: Place) -> int:
        if topic.handler_department:
            found = [u.id for u in self.departments if u.code == topic.handler_department]
            return found[0] if found else self.district.id
        unit: Place | None = grid
        while unit is not None and unit.kind != topic.handler_level:
            unit = self.units.get(unit.parent_id) if unit.parent_id is not None else None
        return unit.id if unit is not None else self.district.id

    def references(self) -> dict[str, list[int]]:
        """table → ids of the rows a simulated case may point at."""
        users = {self.centre, self.supervisor, self.leader, self.integrator, *self.acting.values()}
        return {
            Unit._meta.db_table: list(self.units),
            Building._meta.db_table: [b.id for spots in self.buildings.values() for b in spots],
            Item._meta.db_table: [t.id for t in self.topics],
            User._meta.db_table: [u for u in users if u is not None],
        }

    def report_topics(self) -> list[Topic]:
        return [self.by_code[code] for code in REPORT_ITEMS if code in self.by_code]

    def dedicated_topics(self, grid: Place) -> list[Topic]:
        return [self.by_code[c] for c in DEDICATED_ITEMS.get(grid.category, []) if c in self.by_code]


def prepare_world(*, district_code: str | None, seed: int, demo_size: DemoSize | None = None) -> World:
    """The district to simulate in; with no district at all, the demo district is built first (no cases)."""
    districts = list(Unit.objects.filter(kind=Unit.Kind.DISTRICT, active=True).order_by("code"))
    if not districts and district_code is None:
        build_demo(size=demo_size or DemoSize(), cases=0, seed=seed)
        districts = list(Unit.objects.filter(kind=Unit.Kind.DISTRICT, active=True))
    return load_world(_chosen(districts, district_code))


def _chosen(districts: list[Unit], code: str | None) -> Unit:
    if code is not None:
        found = [d for d in districts if d.code == code]
        if not found:
            raise SimulationError(_("没有编码为 %(code)s 的区县") % {"code": code})
        return found[0]
    if len(districts) > 1:
        codes = "、".join(d.code for d in districts[:10])
        raise SimulationError(
            _("数据库中有多个区县（%(codes)s），请用 --district 指定一个") % {"codes": codes}
        )
    return districts[0]


def _place(unit: Unit) -> Place:
    return Place(unit.pk, unit.code, unit.name, unit.kind, unit.parent_id, unit.category, unit.lat, unit.lon)


def load_world(district: Unit) -> World:
    """Read the district's tree, buildings, active items and acting staff."""
    units = {u.pk: _place(u) for u in Unit.objects.filter(path__startswith=district.path, active=True)}
    grids = sorted((u for u in units.values() if u.kind == Unit.Kind.GRID), key=lambda u: u.code)
    if not grids:
        raise SimulationError(_("区县 %(code)s 下没有网格，无法模拟") % {"code": district.code})
    topics = [
        _topic(item) for item in Item.objects.filter(active=True).select_related("domain").order_by("code")
    ]
    if not topics:
        raise SimulationError(_("事项清单为空，请先导入事项"))
    world = World(
        district=units[district.pk],
        units=units,
        grids=[g for g in grids if g.category in ("", Unit.Category.GENERAL)] or grids,
        dedicated=[g for g in grids if g.category not in ("", Unit.Category.GENERAL)],
        buildings=_buildings(set(units)),
        departments=sorted(
            (u for u in units.values() if u.kind == Unit.Kind.DEPARTMENT), key=lambda u: u.code
        ),
        topics=topics,
        by_code={t.code: t for t in topics},
    )
    _cast(world)
    return world


def _topic(item: Item) -> Topic:
    return Topic(
        item.pk,
        item.code,
        item.name,
        item.domain.code,
        item.level,
        item.handler_level,
        item.handler_department,
        item.response_hours,
        item.resolve_days,
    )


def _buildings(unit_ids: set[int]) -> dict[int, list[Spot]]:
    found: dict[int, list[Spot]] = {}
    rows = Building.objects.filter(grid_id__in=unit_ids).order_by("pk")
    for b in rows.values_list("pk", "grid_id", "name", "address", "lat", "lon"):
        found.setdefault(b[1], []).append(Spot(b[0], b[2], b[3], b[4], b[5]))
    return found


def _cast(world: World) -> None:
    """Who acts: the first dispatcher, supervisor and leader of the district; per unit, its handler."""
    posts = Post.objects.filter(unit_id__in=list(world.units), active=True).order_by("pk")
    first: dict[tuple[str, int], int] = {}
    for role, unit_id, user_id in posts.values_list("role", "unit_id", "user_id"):
        first.setdefault((role, unit_id), user_id)
    district = world.district.id
    world.centre = first.get((Role.DISPATCHER, district))
    world.supervisor = first.get((Role.SUPERVISOR, district))
    world.leader = first.get((Role.LEADER, district))
    world.integrator = User.objects.filter(username=INTEGRATOR).values_list("pk", flat=True).first()
    for unit_id in world.units:
        for role in ACTING_ROLES:
            if (role, unit_id) in first:
                world.acting[unit_id] = first[(role, unit_id)]
                break
    staff = User.objects.filter(pk__in=set(world.acting.values())).values_list("pk", "display_name", "phone")
    world.people = {pk: (name, phone) for pk, name, phone in staff}


def topic_weights(world: World, rng: random.Random) -> list[float]:
    """Each item's share of cases: by level, times a fixed popularity of its own (a few items dominate)."""
    return [LEVEL_WEIGHTS.get(t.level, 1.0) * rng.lognormvariate(0, 0.8) for t in world.topics]
