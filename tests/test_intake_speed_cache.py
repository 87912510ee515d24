"""The reference cache behind fast intake: tokens, units, buildings and items come from Django's
cache, and every change to them is seen by the next request.

These tests commit (transaction=True): the cache stores only what was read outside a transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone

from civicgrid.accounts.models import ApiToken, Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.cases.models import Case
from civicgrid.cases.signals import event_recorded
from civicgrid.catalogue.models import Item
from civicgrid.catalogue.selectors import item_by_code
from civicgrid.org import refcache
from civicgrid.org.models import Building, Unit
from civicgrid.org.selectors import unit_by_code
from tests.conftest import Town, api_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def post_case(client: Client, **fields: Any) -> Any:
    body = {"kind": "help", "description": "楼道灯不亮", **fields}
    return client.post("/api/v1/cases", data=json.dumps(body), content_type="application/json")


def test_it_answers_a_new_case_exactly_as_reading_it_back_does(town: Town, centre: User) -> None:
    client = api_client(centre)
    created = post_case(
        client,
        grid=town.grid.code,
        building="B-0001",
        item="ZHZF-301",
        reporter={"name": "张三", "phone": "13812341234"},
    )

    read_back = client.get(f"/api/v1/cases/{created.json()['number']}")

    assert created.status_code == 201
    assert created.json() == read_back.json()


def test_it_answers_a_retry_with_the_case_as_it_stands(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    first = client.post(
        "/api/v1/cases",
        data=json.dumps({"kind": "help", "description": "楼道灯不亮", "grid": town.grid.code}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    retry = client.post(
        "/api/v1/cases",
        data=json.dumps({"kind": "help", "description": "楼道灯不亮", "grid": town.grid.code}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()


def test_it_refuses_a_token_as_soon_as_it_is_revoked(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    assert post_case(client, grid=town.grid.code).status_code == 201  # the token is now cached

    token = ApiToken.objects.get(user=integrator)
    token.revoked = True
    token.save()  # as the admin does

    assert post_case(client, grid=town.grid.code).status_code == 401


def test_it_refuses_the_token_of_a_user_who_was_deactivated(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    assert post_case(client, grid=town.grid.code).status_code == 201

    integrator.is_active = False
    integrator.save()

    assert post_case(client, grid=town.grid.code).status_code == 401


def test_it_refuses_a_token_deleted_with_its_user(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    assert post_case(client, grid=town.grid.code).status_code == 201

    ApiToken.objects.filter(user=integrator).delete()

    assert post_case(client, grid=town.grid.code).status_code == 401


def test_it_sees_a_retired_item_at_once(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    assert post_case(client, grid=town.grid.code, item="ZHZF-301").status_code == 201

    town.item.active = False
    town.item.save()
    response = post_case(client, grid=town.grid.code, item="ZHZF-301")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "字段 item 无效：该事项已停用"


def test_it_sees_a_deactivated_grid_at_once(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    assert post_case(client, grid=town.grid.code).status_code == 201

    Unit.objects.get(pk=town.neighbour_grid.pk)  # an unrelated read changes nothing
    grid = Unit.objects.get(pk=town.grid.pk)
    grid.active = False
    grid.save()

    assert post_case(client, grid=town.grid.code).status_code == 400


def test_it_files_a_case_in_the_grid_a_building_moved_to(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    assert post_case(client, building="B-0001").json()["grid"] == town.grid.code

    town.building.grid = town.neighbour_grid
    town.building.save()

    assert post_case(client, building="B-0001").json()["grid"] == town.neighbour_grid.code


def test_it_shows_a_new_post_in_the_next_answer(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    assert "accept" not in post_case(client, grid=town.grid.code).json()["allowed_actions"]

    post_grant(user=integrator, unit=town.district, role=Role.DISPATCHER)

    assert "accept" in post_case(client, grid=town.grid.code).json()["allowed_actions"]


def test_it_narrows_the_callers_reach_as_soon_as_a_post_is_removed(
    town: Town, integrator: User, centre: User
) -> None:
    number = post_case(api_client(centre), grid=town.grid.code).json()["number"]
    post = post_grant(user=integrator, unit=town.district, role=Role.DISPATCHER)
    client = api_client(integrator)
    assert client.get(f"/api/v1/cases/{number}").status_code == 200  # the reach is cached now

    post.delete()

    assert client.get(f"/api/v1/cases/{number}").status_code == 404


def test_it_sees_a_change_that_sent_no_signal_within_the_ttl(town: Town, integrator: User) -> None:
    client = api_client(integrator)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        assert post_case(client, grid=town.grid.code).status_code == 201
        ApiToken.objects.filter(user=integrator).update(revoked=True)  # no post_save

    with time_machine.travel(now + timedelta(seconds=refcache.TTL_SECONDS + 1), tick=False):
        assert post_case(client, grid=town.grid.code).status_code == 401


def test_it_stores_nothing_read_inside_a_transaction(town: Town) -> None:
    with transaction.atomic():
        Item.objects.create(code="TMP-1", name="临时", domain=town.item.domain, level=3)
        assert item_by_code(code="TMP-1") is not None
        transaction.set_rollback(True)

    assert item_by_code(code="TMP-1") is None


def test_it_stores_no_misses(town: Town) -> None:
    assert unit_by_code(code="NOPE") is None
    Unit.objects.create(code="NOPE", name="新网格", kind=Unit.Kind.GRID, parent=town.community)

    # Created with a signal, so this says little alone; the point is nothing was stored before.
    assert cache.get(refcache.key_for("unit", "NOPE")) is None
    assert unit_by_code(code="NOPE") is not None


def test_it_answers_from_the_cache_while_nothing_changes(town: Town, django_assert_num_queries: Any) -> None:
    assert unit_by_code(code=town.grid.code) is not None

    with django_assert_num_queries(0):
        unit = unit_by_code(code=town.grid.code)

    assert unit is not None and unit.pk == town.grid.pk


def test_it_keeps_no_entry_read_while_the_data_changed(town: Town) -> None:
    """A reader that loaded a row just before a change committed must not keep it as current."""

    def load_then_someone_commits() -> Building | None:
        building = Building.objects.filter(code="B-0001").select_related("grid").first()
        refcache.retire_all()  # what the writer's commit does meanwhile
        return building

    def load_again() -> Building:
        loads.append("again")
        return Building.objects.get(code="B-0001")

    key = refcache.key_for("building", "B-0001")
    loads: list[str] = []
    refcache.cached(key, load_then_someone_commits)

    refcache.cached(key, load_again)

    assert loads == ["again"]


def test_it_keys_any_text_safely() -> None:
    key = refcache.key_for("unit", "有 空格\n和很长的编码" * 50)

    assert len(key) < 100 and " " not in key


def test_it_numbers_a_case_before_anyone_hears_of_it(town: Town, integrator: User) -> None:
    """The number is taken last (the day counter stays locked only briefly); receivers of the
    event, and the answer, see the real number, never the provisional one."""
    heard: list[str] = []

    def receiver(sender: Any, case: Any, event: Any, **kwargs: Any) -> None:
        heard.append(case.number)

    event_recorded.connect(receiver)
    try:
        response = post_case(api_client(integrator), grid=town.grid.code)
    finally:
        event_recorded.disconnect(receiver)

    number = response.json()["number"]
    assert re.fullmatch(r"\d{8}-\d{6}", number)
    assert heard == [number]
    assert Case.objects.get().number == number


def test_it_keeps_no_password_hash_in_the_cache(town: Town, integrator: User) -> None:
    assert post_case(api_client(integrator), grid=town.grid.code).status_code == 201
    digest = ApiToken.objects.get(user=integrator).digest

    _version, cached_user = cache.get(refcache.key_for("token", digest))

    assert "password" not in cached_user.__dict__
