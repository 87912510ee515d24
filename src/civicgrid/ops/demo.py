"""The demo district (示范区): its area tree, buildings, households, staff and case histories."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, QuerySet

from civicgrid import clock
from civicgrid.accounts.models import Post, Role, User
from civicgrid.cases.models import Case
from civicgrid.cases.selectors import overdue_q
from civicgrid.catalogue.services import catalogue_departments, catalogue_load
from civicgrid.ops import demo_names as names
from civicgrid.ops.demo_cases import cases_load
from civicgrid.ops.demo_script import Cast
from civicgrid.org.models import PATH_SEPARATOR, Building, Household, Unit

DISTRICT_CODE = "DEMO"
DEMO_PATH = f"{PATH_SEPARATOR}{DISTRICT_CODE}{PATH_SEPARATOR}"
DEMO_PASSWORD = "demo12345"
DEFAULT_SEED = 20210611  # the day 招远's 招即办 article appeared; any fixed value would do
DEFAULT_CASES = 400
INTEGRATOR = "integrator"
# How many of the first communities / grids get a grid leader / volunteers (a tester needs a few).
GRID_LEADERS = 4
VOLUNTEER_GRIDS = 6
# Handling roles, in the order that picks who acts for a unit in the demo histories.
ACTING_ROLES = (Role.GRID_WORKER, Role.COMMUNITY_LIAISON, Role.STREET_LIAISON, Role.HANDLER, Role.UNIT_HEAD)
VOLUNTEERS = (Role.HOUSEHOLD_LEAD, Role.INFORMANT)
CARE_LEVELS = {Household.CareLevel.GREEN: 85, Household.CareLevel.YELLOW: 11, Household.CareLevel.RED: 4}


@dataclass(frozen=True)
class DemoSize:
    """How big a district to build; the defaults follow 招远 (20 communities, 177 basic grids)."""

    streets: int = 4
    communities_per_street: int = 6
    general_grids: int = 180
    dedicated_grids: int = 15
    buildings_per_grid: int = 9


SMALL = DemoSize(
    streets=1, communities_per_street=2, general_grids=4, dedicated_grids=1, buildings_per_grid=3
)


class DemoConflict(Exception):
    """The database already holds the demo district, or codes and usernames the demo needs."""


@dataclass
class Tree:
    """The units built, by level; grids are the general ones, `dedicated` the 专属网格."""

    district: Unit
    streets: list[Unit] = field(default_factory=list)
    communities: list[Unit] = field(default_factory=list)
    grids: list[Unit] = field(default_factory=list)
    dedicated: list[Unit] = field(default_factory=list)
    departments: list[Unit] = field(default_factory=list)


@dataclass(frozen=True)
class Seat:
    """A demo account and the one post it holds."""

    username: str
    unit: Unit
    role: Role


@dataclass(frozen=True)
class DemoSummary:
    """What the demo district holds, counted from the database."""

    units: dict[str, int]
    grids: dict[str, int]
    buildings: int
    households: int
    users: int
    posts: int
    cases: dict[str, int]
    overdue: int


def demo_exists() -> bool:
    return Unit.objects.filter(code=DISTRICT_CODE).exists()


def build_demo(*, size: DemoSize = DemoSize(), cases: int = DEFAULT_CASES, seed: int = DEFAULT_SEED) -> None:
    """Build the district, its people and `cases` case histories; DemoConflict when it is there already.

    The structure is one transaction, so a failure leaves nothing behind; cases load in batches after it.
    """
    rng = random.Random(seed)
    with transaction.atomic():
        if demo_exists():
            raise DemoConflict(f"演示区（{DISTRICT_CODE}）已存在")
        catalogue_load()
        tree = _build_tree(rng, size)
        buildings = _build_places(rng, tree, size)
        cast = _build_staff(rng, tree, buildings)
    cases_load(rng=rng, cast=cast, count=cases)


def _unit(code: str, name: str, kind: str, parent: Unit | None, where: tuple[float, float]) -> Unit:
    unit = Unit(
        code=code, name=name, kind=kind, parent=parent, lat=round(where[0], 6), lon=round(where[1], 6)
    )
    # bulk_create skips Unit.save, which is where the materialised path is normally computed.
    unit.path = unit.build_path()
    unit.depth = unit.path.count(PATH_SEPARATOR) - 2
    return unit


def _near(rng: random.Random, unit: Unit, spread: float) -> tuple[float, float]:
    assert unit.lat is not None and unit.lon is not None
    return unit.lat + rng.uniform(-spread, spread), unit.lon + rng.uniform(-spread, spread)


def _saved(units: list[Unit]) -> list[Unit]:
    taken = Unit.objects.filter(code__in=[unit.code for unit in units]).values_list("code", flat=True)
    if taken:
        raise DemoConflict(f"单位编码已被占用：{'、'.join(taken[:10])}")
    # PostgreSQL and SQLite ≥ 3.35 hand the new primary keys back, so children can point at them.
    return Unit.objects.bulk_create(units)


def _build_tree(rng: random.Random, size: DemoSize) -> Tree:
    tree = Tree(district=_saved([_district()])[0])
    tree.streets = _saved([_street(rng, tree.district, i) for i in range(size.streets)])
    tree.communities = _saved(
        [
            _community(rng, s, i, j)
            for i, s in enumerate(tree.streets)
            for j in range(size.communities_per_street)
        ]
    )
    tree.grids = _saved(_general_grids(rng, tree.communities, size.general_grids))
    tree.dedicated = _saved(_dedicated_grids(rng, tree.communities, size.dedicated_grids))
    tree.departments = _saved([_department(rng, tree.district, *entry) for entry in catalogue_departments()])
    return tree


def _district() -> Unit:
    unit = _unit(
        DISTRICT_CODE, names.DISTRICT_NAME, Unit.Kind.DISTRICT, None, (names.CENTRE_LAT, names.CENTRE_LON)
    )
    unit.phone = "0535-12345"
    return unit


def _landline(rng: random.Random) -> str:
    return f"0535-8{rng.randint(100000, 999999)}"


def _street(rng: random.Random, district: Unit, index: int) -> Unit:
    name = names.STREETS[index] if index < len(names.STREETS) else f"第{index + 1}街道"
    unit = _unit(
        f"{DISTRICT_CODE}-S{index + 1}", name, Unit.Kind.STREET, district, _near(rng, district, 0.03)
    )
    unit.phone = _landline(rng)
    return unit


def _community(rng: random.Random, street: Unit, street_index: int, index: int) -> Unit:
    pool = names.COMMUNITIES[street_index % len(names.COMMUNITIES)]
    name = pool[index] if index < len(pool) else f"{street.name[:2]}第{index + 1}社区"
    unit = _unit(
        f"{street.code}-C{index + 1:02d}", name, Unit.Kind.COMMUNITY, street, _near(rng, street, 0.01)
    )
    unit.phone = _landline(rng)
    return unit


def _numeral(n: int) -> str:
    return names.CHINESE_NUMERALS[n - 1] if n <= len(names.CHINESE_NUMERALS) else str(n)


def _general_grids(rng: random.Random, communities: list[Unit], total: int) -> list[Unit]:
    """`total` grids spread as evenly as the communities allow (招远: 177 grids over 20 communities)."""
    grids: list[Unit] = []
    for index, community in enumerate(communities):
        share = total // len(communities) + (1 if index < total % len(communities) else 0)
        for n in range(1, share + 1):
            name = f"{community.name}第{_numeral(n)}网格"
            grid = _unit(
                f"{community.code}-G{n:02d}", name, Unit.Kind.GRID, community, _near(rng, community, 0.004)
            )
            grid.category = Unit.Category.GENERAL
            grids.append(grid)
    return grids


def _dedicated_grids(rng: random.Random, communities: list[Unit], total: int) -> list[Unit]:
    """专属网格 for enterprises, parks, markets, schools and hospitals, dealt round the communities."""
    grids: list[Unit] = []
    for index in range(total):
        category, name = names.DEDICATED_GRIDS[index % len(names.DEDICATED_GRIDS)]
        community = communities[index % len(communities)]
        code = f"{community.code}-Z{index // len(communities) + 1:02d}"
        grid = _unit(code, name, Unit.Kind.GRID, community, _near(rng, community, 0.004))
        grid.category = category
        grids.append(grid)
    return grids


def _department(rng: random.Random, district: Unit, code: str, name: str) -> Unit:
    unit = _unit(code, name, Unit.Kind.DEPARTMENT, district, _near(rng, district, 0.01))
    unit.phone = _landline(rng)
    return unit


Layout = tuple[int, int, int]  # entrances × floors × rooms per floor


def _build_places(rng: random.Random, tree: Tree, size: DemoSize) -> dict[int, list[Building]]:
    """Buildings of every grid (bulk) and the households of the residential ones."""
    planned: list[tuple[Building, Layout | None]] = []
    for index, grid in enumerate(tree.grids):
        planned += _estate(rng, grid, index, size.buildings_per_grid)
    for grid in tree.dedicated:
        planned += [(building, None) for building in _campus(rng, grid)]
    Building.objects.bulk_create([building for building, _ in planned], batch_size=500)
    households = [h for building, layout in planned if layout for h in _households(rng, building, layout)]
    Household.objects.bulk_create(households, batch_size=2000)
    by_grid: dict[int, list[Building]] = {}
    for building, _ in planned:
        by_grid.setdefault(building.grid_id, []).append(building)
    return by_grid


def _estate(rng: random.Random, grid: Unit, index: int, count: int) -> list[tuple[Building, Layout]]:
    """One 小区 per general grid: mostly walk-up blocks (号楼), some one-storey courtyards (号院)."""
    estate = names.ESTATES[index % len(names.ESTATES)]
    if index >= len(names.ESTATES):
        estate += f"{_numeral(index // len(names.ESTATES) + 1)}期"
    road, number = rng.choice(names.ROADS), rng.randint(1, 300)
    planned: list[tuple[Building, Layout]] = []
    for n in range(1, count + 1):
        block = rng.random() < 0.65
        layout = (rng.randint(1, 2), rng.randint(3, 4), 2) if block else (1, 1, rng.randint(1, 4))
        name = f"{estate}{n}号{'楼' if block else '院'}"
        lat, lon = _near(rng, grid, 0.0012)
        building = Building(
            grid=grid,
            code=f"{grid.code}-B{n:02d}",
            name=name,
            address=f"{road}{number}号{name}",
            lat=lat,
            lon=lon,
        )
        planned.append((building, layout))
    return planned


def _campus(rng: random.Random, grid: Unit) -> list[Building]:
    short = grid.name.removesuffix("专属网格")
    parts = names.DEDICATED_BUILDINGS.get(grid.category, ["综合楼"])
    road = rng.choice(names.ROADS)
    return [
        Building(
            grid=grid, code=f"{grid.code}-B{n:02d}", name=f"{short}{part}", address=f"{road}{short}{part}"
        )
        for n, part in enumerate(parts[: rng.randint(1, len(parts))], start=1)
    ]


def _households(rng: random.Random, building: Building, layout: Layout) -> list[Household]:
    entrances, floors, rooms = layout
    return [
        _household(rng, building, f"{e}单元" if floors > 1 else "", f"{f}0{r}" if floors > 1 else f"{r}户")
        for e in range(1, entrances + 1)
        for f in range(1, floors + 1)
        for r in range(1, rooms + 1)
    ]


def _household(rng: random.Random, building: Building, entrance: str, room: str) -> Household:
    return Household(
        building=building,
        entrance=entrance,
        room=room,
        head_name=names.person_name(rng),
        phone=names.phone_number(rng) if rng.random() < 0.9 else "",
        members=rng.choices([1, 2, 3, 4, 5], weights=[12, 30, 30, 20, 8])[0],
        care_level=rng.choices(list(CARE_LEVELS), weights=list(CARE_LEVELS.values()))[0],
    )


def _numbered(prefix: str, units: list[Unit], role: Role) -> list[Seat]:
    return [Seat(f"{prefix}-{n}", unit, role) for n, unit in enumerate(units, start=1)]


def demo_seats(tree: Tree) -> list[Seat]:
    """Every demo account, named by role so a tester can guess them (grid-1 is the first grid's worker)."""
    district = tree.district
    seats = [Seat(name, district, role) for name, role in _DISTRICT_SEATS]
    seats += _numbered("street", tree.streets, Role.STREET_LIAISON)
    seats += _numbered("head-street", tree.streets, Role.UNIT_HEAD)
    seats += _numbered("community", tree.communities, Role.COMMUNITY_LIAISON)
    seats += _numbered("gridleader", tree.communities[:GRID_LEADERS], Role.GRID_LEADER)
    seats += _numbered("grid", tree.grids + tree.dedicated, Role.GRID_WORKER)
    seats += _numbered("household", tree.grids[:VOLUNTEER_GRIDS], Role.HOUSEHOLD_LEAD)
    seats += _numbered("informant", tree.grids[:VOLUNTEER_GRIDS], Role.INFORMANT)
    seats += [Seat(f"dept-{unit.code.lower()}", unit, Role.HANDLER) for unit in tree.departments]
    return seats


_DISTRICT_SEATS = [
    ("admin", Role.ADMIN),
    ("center", Role.DISPATCHER),
    ("leader", Role.LEADER),
    ("supervisor", Role.SUPERVISOR),
    ("head-district", Role.UNIT_HEAD),
]


def _build_staff(rng: random.Random, tree: Tree, buildings: dict[int, list[Building]]) -> Cast:
    seats = demo_seats(tree)
    taken = User.objects.filter(username__in=[seat.username for seat in seats] + [INTEGRATOR])
    if taken.exists():
        raise DemoConflict(f"演示账号已存在：{'、'.join(taken.values_list('username', flat=True)[:10])}")
    users = _create_users(rng, [seat.username for seat in seats])
    Post.objects.bulk_create(
        [Post(user=users[seat.username], unit=seat.unit, role=seat.role) for seat in seats]
    )
    return _cast(tree, seats, users, buildings)


def _create_users(rng: random.Random, usernames: list[str]) -> dict[str, User]:
    # One hash for everyone: the real hasher costs ~0.3 s per call, and every demo password is the same.
    password = make_password(DEMO_PASSWORD)
    users = [
        User(
            username=name,
            display_name=names.person_name(rng),
            phone=names.phone_number(rng),
            password=password,
        )
        for name in usernames
    ]
    users.append(User(username=INTEGRATOR, display_name="一号通办接口", password=password))
    users[0].is_staff = users[0].is_superuser = True  # "admin" comes first in demo_seats
    return {user.username: user for user in User.objects.bulk_create(users)}


def _cast(
    tree: Tree, seats: list[Seat], users: dict[str, User], buildings: dict[int, list[Building]]
) -> Cast:
    acting: dict[int, User] = {}
    for role in reversed(ACTING_ROLES):  # written last, the first roles win
        acting.update({seat.unit.pk: users[seat.username] for seat in seats if seat.role == role})
    volunteers: dict[int, list[User]] = {}
    for seat in seats:
        if seat.role in VOLUNTEERS:
            volunteers.setdefault(seat.unit.pk, []).append(users[seat.username])
    return Cast(
        centre=users["center"],
        supervisor=users["supervisor"],
        leader=users["leader"],
        integrator=users[INTEGRATOR],
        acting=acting,
        volunteers=volunteers,
        grids=tree.grids,
        dedicated=tree.dedicated,
        departments={unit.code: unit for unit in tree.departments},
        buildings=buildings,
    )


def demo_summary() -> DemoSummary:
    """Counts of everything under the demo district, read back from the database."""
    prefix = DEMO_PATH
    units, cases = (
        Unit.objects.filter(path__startswith=prefix),
        Case.objects.filter(place__path__startswith=prefix),
    )
    return DemoSummary(
        units=_counted(units, "kind"),
        grids=_counted(units.filter(kind=Unit.Kind.GRID), "category"),
        buildings=Building.objects.filter(grid__path__startswith=prefix).count(),
        households=Household.objects.filter(building__grid__path__startswith=prefix).count(),
        users=User.objects.filter(posts__unit__path__startswith=prefix).distinct().count(),
        posts=Post.objects.filter(unit__path__startswith=prefix).count(),
        cases=_counted(cases, "status"),
        overdue=cases.filter(overdue_q(now=clock.now())).count(),
    )


def _counted(queryset: QuerySet[Any], field_name: str) -> dict[str, int]:
    rows = queryset.values(field_name).annotate(n=Count("pk")).order_by(field_name)
    return {row[field_name]: row["n"] for row in rows}
