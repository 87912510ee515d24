"""The demo district loader (`civicgrid loaddemo`): structure, accounts and case histories."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from civicgrid.accounts.models import Post, Role, User
from civicgrid.cases.models import Case, Event
from civicgrid.cases.selectors import case_is_overdue
from civicgrid.cases.states import Status
from civicgrid.catalogue.models import Item
from civicgrid.ops.demo import DEMO_PASSWORD, SMALL, build_demo, demo_summary
from civicgrid.org.models import Household, Unit

TESTER_ACCOUNTS = [
    "admin",
    "center",
    "leader",
    "supervisor",
    "street-1",
    "community-1",
    "grid-1",
    "dept-d-cg",
]


@pytest.fixture
def small_demo(db: None) -> None:
    """One street, two communities, four general grids and one dedicated grid; 40 cases."""
    build_demo(size=SMALL, cases=40)


def _counts() -> tuple[int, ...]:
    models = (Unit, Household, User, Post, Case, Event)
    return tuple(model.objects.count() for model in models)


def test_it_gives_every_role_a_post(small_demo: None) -> None:
    held = set(Post.objects.values_list("role", flat=True))

    assert held == set(Role.values)


def test_it_creates_the_accounts_a_tester_looks_for(small_demo: None) -> None:
    users = {user.username: user for user in User.objects.filter(username__in=TESTER_ACCOUNTS)}

    assert sorted(users) == sorted(TESTER_ACCOUNTS)
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert not users["center"].is_staff
    assert all(user.check_password(DEMO_PASSWORD) for user in users.values())
    assert all(user.display_name for user in users.values())
    assert Post.objects.filter(
        user__username="grid-1", role=Role.GRID_WORKER, unit__code="DEMO-S1-C01-G01"
    ).exists()
    assert Post.objects.filter(user__username="dept-d-cg", role=Role.HANDLER, unit__code="D-CG").exists()


def test_it_leaves_cases_in_every_status(small_demo: None) -> None:
    statuses = set(Case.objects.values_list("status", flat=True))

    assert Case.objects.count() == 40
    assert statuses == set(Status.values)


def test_it_writes_contiguous_histories_that_end_in_the_case_status(small_demo: None) -> None:
    for case in Case.objects.prefetch_related("events"):
        events = sorted(case.events.all(), key=lambda event: event.seq)

        assert [event.seq for event in events] == list(range(1, len(events) + 1)), case.number
        assert events[-1].to_status == case.status, case.number
        assert [event.at for event in events] == sorted(event.at for event in events), case.number


def test_it_has_the_units_own_staff_do_the_handling(small_demo: None) -> None:
    handled = Event.objects.filter(action__in=["acknowledge", "return", "request_extension"])

    for event in handled.select_related("actor", "unit"):
        assert Post.objects.filter(user=event.actor, unit=event.unit).exists(), (event.action, event.actor)
    assert set(Event.objects.filter(action="dispatch").values_list("actor__username", flat=True)) == {
        "center"
    }


def test_it_leaves_some_open_case_overdue(small_demo: None) -> None:
    assert any(case_is_overdue(case=case) for case in Case.objects.all())


def test_it_does_nothing_the_second_time_with_if_empty(small_demo: None) -> None:
    before, out = _counts(), StringIO()

    call_command("loaddemo", "--if-empty", stdout=out)

    assert _counts() == before
    assert "已存在" in out.getvalue()
    assert DEMO_PASSWORD in out.getvalue()


def test_it_refuses_a_second_load_without_if_empty(small_demo: None) -> None:
    with pytest.raises(CommandError, match="已存在"):
        call_command("loaddemo", "--small", "--cases", "0")


def test_it_leaves_nothing_behind_when_a_demo_username_is_taken(db: None) -> None:
    User.objects.create_user(username="center", password="x-not-the-demo-one")

    with pytest.raises(CommandError, match="center"):
        call_command("loaddemo", "--small", "--cases", "0")

    assert not Unit.objects.exists()
    assert not Item.objects.exists()


def test_it_prints_the_summary_and_the_logins(db: None) -> None:
    out = StringIO()

    call_command("loaddemo", "--small", "--cases", "12", "--seed", "7", stdout=out)

    printed = out.getvalue()
    assert "诉求 12：" in printed
    assert f"密码均为 {DEMO_PASSWORD}" in printed
    assert all(name in printed for name in ("admin", "center", "grid-1", "dept-d-cg"))


def test_it_builds_a_full_district_shaped_like_the_seeds(db: None) -> None:
    build_demo(cases=3)

    summary = demo_summary()
    assert summary.units["street"] >= 3
    assert summary.units["community"] >= 20
    assert summary.grids["general"] >= 180
    assert sum(n for category, n in summary.grids.items() if category != "general") >= 10
    assert summary.units["department"] >= 14
    assert summary.buildings >= 1500
    assert summary.households >= 10_000
    # Every item sent to a department by default finds it in the demo district.
    grid = Unit.objects.filter(kind=Unit.Kind.GRID).first()
    assert grid is not None
    for item in Item.objects.exclude(handler_department=""):
        handler = item.default_handler_unit(place=grid)
        assert handler is not None and handler.kind == Unit.Kind.DEPARTMENT, item.code


def test_it_writes_households_with_phones_that_mask_and_mostly_green_care(db: None) -> None:
    build_demo(size=SMALL, cases=0)

    households = list(Household.objects.all())
    phones = [h.phone for h in households if h.phone]
    assert phones and all(len(phone) == 11 and phone.isdigit() for phone in phones)
    green = sum(h.care_level == Household.CareLevel.GREEN for h in households)
    assert green > len(households) / 2
    assert all(unit.lat and unit.lon for unit in Unit.objects.filter(kind=Unit.Kind.GRID))
