"""Named people and a small district every test can use (given … when … then)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

import pytest
from django.test import Client

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.services import post_grant, token_create
from civicgrid.cases import services
from civicgrid.cases.models import Case
from civicgrid.catalogue.models import Domain, Item
from civicgrid.org.models import Building, Unit


def pytest_report_header() -> str:
    from django.conf import settings

    return (
        f"database: {settings.DATABASES['default']['ENGINE']} ({os.environ.get('DATABASE_URL', 'default')})"
    )


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: cached rows of a rolled-back test must not leak into
    the next (webhook endpoints, message templates, rate-limit counters)."""
    from django.core.cache import cache

    cache.clear()


class Town:
    """西城区 with one street, two communities, three grids and two departments."""

    def __init__(self) -> None:
        self.district = Unit.objects.create(code="XC", name="西城区", kind=Unit.Kind.DISTRICT)
        self.street = Unit.objects.create(
            code="XC-S1", name="新街口街道", kind=Unit.Kind.STREET, parent=self.district
        )
        self.community = Unit.objects.create(
            code="XC-S1-C1", name="西里社区", kind=Unit.Kind.COMMUNITY, parent=self.street
        )
        self.other_community = Unit.objects.create(
            code="XC-S1-C2", name="东里社区", kind=Unit.Kind.COMMUNITY, parent=self.street
        )
        self.grid = self._grid("XC-S1-C1-G1", "西里一网格", self.community)
        self.neighbour_grid = self._grid("XC-S1-C1-G2", "西里二网格", self.community)
        self.far_grid = self._grid("XC-S1-C2-G1", "东里一网格", self.other_community)
        self.urban = Unit.objects.create(
            code="D-CG", name="城管局", kind=Unit.Kind.DEPARTMENT, parent=self.district
        )
        self.water = Unit.objects.create(
            code="D-SW", name="水务局", kind=Unit.Kind.DEPARTMENT, parent=self.district
        )
        self.building = Building.objects.create(
            grid=self.grid, code="B-0001", name="西里1号楼", address="西里1号"
        )
        domain = Domain.objects.create(code="ZHZF", name="综合执法", order=1)
        self.item = Item.objects.create(
            code="ZHZF-301",
            name="占道经营",
            domain=domain,
            level=3,
            handler_level="department",
            handler_department="D-CG",
            response_hours=24,
            resolve_days=7,
            colour="blue",
        )
        self.urgent_item = Item.objects.create(
            code="ZHZF-101",
            name="燃气泄漏",
            domain=domain,
            level=1,
            handler_level="department",
            handler_department="D-CG",
            response_hours=1,
            resolve_days=1,
            colour="red",
        )

    def _grid(self, code: str, name: str, parent: Unit) -> Unit:
        return Unit.objects.create(
            code=code, name=name, kind=Unit.Kind.GRID, category="general", parent=parent
        )


@pytest.fixture
def town(db: None) -> Town:
    return Town()


def _person(username: str, name: str, *posts: tuple[Unit, Role]) -> User:
    user = User.objects.create_user(username=username, password="pw-for-tests-1", display_name=name)
    for unit, role in posts:
        post_grant(user=user, unit=unit, role=role)
    return user


@pytest.fixture
def centre(town: Town) -> User:
    """周: dispatcher in the district command centre."""
    return _person("zhou", "周受理", (town.district, Role.DISPATCHER))


@pytest.fixture
def supervisor(town: Town) -> User:
    return _person("wu", "吴督办", (town.district, Role.SUPERVISOR))


@pytest.fixture
def leader(town: Town) -> User:
    return _person("zheng", "郑区长", (town.district, Role.LEADER))


@pytest.fixture
def wang(town: Town) -> User:
    """王: grid worker of 西里一网格."""
    return _person("wang", "王网格", (town.grid, Role.GRID_WORKER))


@pytest.fixture
def li(town: Town) -> User:
    """李: grid worker of the neighbouring grid."""
    return _person("li", "李网格", (town.neighbour_grid, Role.GRID_WORKER))


@pytest.fixture
def zhao(town: Town) -> User:
    """赵: community liaison of 西里社区."""
    return _person("zhao", "赵社区", (town.community, Role.COMMUNITY_LIAISON))


@pytest.fixture
def qian(town: Town) -> User:
    """钱: street liaison of 新街口街道."""
    return _person("qian", "钱街道", (town.street, Role.STREET_LIAISON))


@pytest.fixture
def chen(town: Town) -> User:
    """陈: handler in the urban management department (城管局)."""
    return _person("chen", "陈城管", (town.urban, Role.HANDLER))


@pytest.fixture
def sun(town: Town) -> User:
    """孙: handler in the water department (水务局)."""
    return _person("sun", "孙水务", (town.water, Role.HANDLER))


@pytest.fixture
def integrator(town: Town) -> User:
    """An integrator account with no posts: it sees only what it submitted."""
    return _person("app", "区APP")


CaseMaker = Callable[..., Case]


@pytest.fixture
def new_case(town: Town, integrator: User) -> CaseMaker:
    """A case submitted through the API by the integrator, in 西里一网格 (占道经营)."""

    def make(**overrides: object) -> Case:
        fields: dict[str, object] = {
            "kind": "complaint",
            "description": "西里1号楼门前有人占道摆摊",
            "place": town.grid,
            "channel": "api",
            "item": town.item,
            "building": town.building,
            "reporter": services.Reporter(name="张三", phone="13812341234"),
        }
        fields.update(overrides)
        actor = fields.pop("actor", integrator)
        return services.case_create(actor=actor, new=services.NewCase(**fields))  # type: ignore[arg-type]

    return make


@pytest.fixture
def case_in(
    new_case: CaseMaker, centre: User, chen: User, wang: User, supervisor: User, town: Town
) -> Callable[[str], Case]:
    """A case driven through the real services to the named status."""

    def drive(status: str) -> Case:
        case = new_case()
        if status == "submitted":
            return case
        if status in {"rejected", "merged", "withdrawn"}:
            if status == "rejected":
                return services.case_reject(case=case, actor=centre, reason="不属于受理范围")
            if status == "withdrawn":
                return services.case_withdraw(case=case, actor=centre, reason="群众撤回")
            return services.case_merge(case=case, actor=centre, into=new_case())
        services.case_accept(case=case, actor=centre)
        if status == "accepted":
            return case
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        if status == "dispatched":
            return case
        services.case_acknowledge(case=case, actor=chen)
        if status == "in_progress":
            return case
        services.case_resolve(case=case, actor=chen, result="已劝离摊贩")
        if status == "resolved":
            return case
        return services.case_close(case=case, actor=centre)

    return drive


def api_client(user: User) -> Client:
    """A test client sending a fresh bearer token of `user`."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user)}")


def at(text: str) -> datetime:
    """An aware datetime in Asia/Shanghai from 'YYYY-MM-DD HH:MM'."""
    from django.utils import timezone

    return timezone.make_aware(datetime.strptime(text, "%Y-%m-%d %H:%M"))
