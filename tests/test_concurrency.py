"""Two people acting on one case at the same moment: exactly one wins, the other is told (409)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from django.db import connection

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.errors import CaseChangedMeanwhile
from civicgrid.cases.models import Case, IdempotencyKey
from tests.conftest import Town, api_client

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row-level concurrency needs PostgreSQL (SQLite serialises writers)",
)


def race(*actions: Callable[[], object]) -> list[object]:
    """Run the actions in threads released together; return each one's result or exception."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int, action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[index] = action()
        except Exception as exc:  # the race's loser is the point of the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_two_concurrent_dispatches_win(
    town: Town, centre: User, integrator: User
) -> None:
    case = services.case_create(
        actor=integrator,
        new=services.NewCase(kind="help", description="楼道灯坏了", place=town.grid, channel="api"),
    )
    services.case_accept(case=case, actor=centre)
    first, second = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)

    results = race(
        lambda: services.case_dispatch(case=first, actor=centre, lead=town.urban),
        lambda: services.case_dispatch(case=second, actor=centre, lead=town.water),
    )

    winners = [r for r in results if isinstance(r, Case)]
    losers = [r for r in results if isinstance(r, CaseChangedMeanwhile)]
    assert (len(winners), len(losers)) == (1, 1), results
    stored = Case.objects.get(pk=case.pk)
    assert stored.assignments.count() == 1
    assert list(stored.events.values_list("seq", flat=True)) == [1, 2, 3]
    assert stored.last_seq == 3


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_answers_409_to_the_loser_of_two_concurrent_api_actions(
    town: Town, centre: User, chen: User, supervisor: User, integrator: User
) -> None:
    case = services.case_create(
        actor=integrator,
        new=services.NewCase(kind="help", description="井盖缺失", place=town.grid, channel="api"),
    )
    services.case_accept(case=case, actor=centre)
    services.case_dispatch(case=case, actor=centre, lead=town.urban)
    desk, handler, overseer = api_client(centre), api_client(chen), api_client(supervisor)
    base = f"/api/v1/cases/{case.number}/actions/"

    responses = race(
        lambda: handler.post(base + "acknowledge", data="{}", content_type="application/json"),
        lambda: overseer.post(
            base + "supervise", data=json.dumps({"note": "加快"}), content_type="application/json"
        ),
        lambda: desk.post(
            base + "note", data=json.dumps({"text": "已电话联系"}), content_type="application/json"
        ),
    )

    codes = sorted(r.status_code for r in responses)  # type: ignore[attr-defined]
    assert codes.count(200) >= 1 and set(codes) <= {200, 409}, codes
    seqs = list(Case.objects.get(pk=case.pk).events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) == 3 + codes.count(200)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_creates_one_case_for_concurrent_retries_with_one_idempotency_key(
    town: Town, integrator: User
) -> None:
    client = api_client(integrator)
    body = json.dumps({"kind": "help", "description": "路灯不亮", "grid": town.grid.code})

    responses = race(
        *[
            (
                lambda: client.post(
                    "/api/v1/cases", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
                )
            )
            for _ in range(4)
        ]
    )

    numbers = {r.json()["number"] for r in responses}  # type: ignore[attr-defined]
    assert [r.status_code for r in responses] == [201] * 4  # type: ignore[attr-defined]
    assert len(numbers) == 1
    assert Case.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
