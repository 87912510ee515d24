"""考核剔除: a unit whose figures count a case asks to exclude it; a supervisor approves or refuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, NotPermitted
from civicgrid.cases.models import Case, Event, ExclusionRequest
from civicgrid.cases.policy import allowed_actions
from civicgrid.cases.selectors import approved_exclusions
from civicgrid.cases.services import case_accept, case_dispatch, case_resolve, case_return
from civicgrid.cases.services.exclusions import case_exclude, case_refuse_exclusion, case_request_exclusion
from civicgrid.cases.states import Status, TransitionNotAllowed
from civicgrid.org.models import Unit
from tests.conftest import CaseMaker, Town, at
from tests.console_support import fresh, page
from tests.test_lifecycle import snapshot

CaseIn = Callable[[str], Case]


def ask(
    case: Case, actor: User, reason: str = "malicious", note: str = "同一号码一月内恶意投诉 12 次"
) -> Case:
    return case_request_exclusion(case=case, actor=actor, reason=reason, note=note)


def actions(case: Case) -> list[tuple[str, str, str, Any]]:
    return [
        (e.action, e.from_status, e.to_status, e.data)
        for e in Event.objects.filter(case_id=case.pk, seq__gt=case.last_seq - 2).order_by("seq")
    ]


# --- asking and deciding ------------------------------------------------------------------------


def test_it_excludes_a_closed_case_without_moving_its_status(
    case_in: CaseIn, zhao: User, supervisor: User, town: Town
) -> None:
    case = case_in("closed")
    with time_machine.travel(at("2026-03-02 09:00"), tick=False):
        ask(case, zhao)
    request = ExclusionRequest.objects.get()

    with time_machine.travel(at("2026-03-03 10:00"), tick=False):
        case_exclude(case=case, actor=supervisor, note="核实属实")

    case, request = fresh(case), ExclusionRequest.objects.get()
    assert (case.status, case.excluded_at, case.exclusion_requested_at) == (
        Status.CLOSED,
        at("2026-03-03 10:00"),
        None,
    )
    assert actions(case) == [
        ("request_exclusion", "closed", "closed", {"reason": "malicious", "request": request.pk}),
        ("exclude", "closed", "closed", {"reason": "malicious", "request": request.pk}),
    ]
    exclude = case.events.get(action="exclude")
    assert (exclude.actor, exclude.unit, exclude.public) == (supervisor, town.community, False)
    assert (request.status, request.unit, request.requested_by, request.requested_at) == (
        ExclusionRequest.Status.APPROVED,
        town.community,
        zhao,
        at("2026-03-02 09:00"),
    )
    assert (request.decided_by, request.decided_at, request.decision_note) == (
        supervisor,
        at("2026-03-03 10:00"),
        "核实属实",
    )


def test_it_keeps_a_refused_case_counting_and_tells_why(
    case_in: CaseIn, chen: User, supervisor: User, town: Town
) -> None:
    case = case_in("in_progress")
    ask(case, chen, reason="out_of_scope", note="属水务职责")

    case_refuse_exclusion(case=case, actor=supervisor, note="属城管职责范围")

    case, request = fresh(case), ExclusionRequest.objects.get()
    assert (case.status, case.excluded_at, case.exclusion_requested_at) == (Status.IN_PROGRESS, None, None)
    assert (request.status, request.unit, request.decision_note) == (
        ExclusionRequest.Status.REFUSED,
        town.urban,
        "属城管职责范围",
    )
    refusal = case.events.get(action="refuse_exclusion")
    assert (refusal.actor, refusal.note, refusal.public) == (supervisor, "属城管职责范围", False)


def test_it_lets_a_refused_case_be_asked_once_more_and_no_more(
    case_in: CaseIn, zhao: User, supervisor: User
) -> None:
    case = case_in("resolved")
    ask(case, zhao)
    case_refuse_exclusion(case=case, actor=supervisor, note="证据不足")
    ask(fresh(case), zhao, note="补充通话录音")
    case_refuse_exclusion(case=fresh(case), actor=supervisor, note="仍不足以认定恶意")
    before = snapshot(case)

    with pytest.raises(TransitionNotAllowed):
        ask(fresh(case), zhao, note="第三次申请")

    assert snapshot(case) == before
    assert "request_exclusion" not in allowed_actions(case=fresh(case), user=zhao)
    assert list(ExclusionRequest.objects.values_list("status", flat=True)) == ["refused", "refused"]


def test_it_refuses_a_second_request_while_one_waits(case_in: CaseIn, zhao: User, qian: User) -> None:
    case = ask(case_in("dispatched"), zhao)
    before = snapshot(case)

    with pytest.raises(TransitionNotAllowed):
        ask(fresh(case), qian, reason="duplicate", note="重复")

    assert snapshot(case) == before
    assert ExclusionRequest.objects.count() == 1


def test_it_refuses_a_request_that_crossed_another_one(case_in: CaseIn, zhao: User, chen: User) -> None:
    case = case_in("dispatched")
    seen_by_chen = fresh(case)
    ask(case, zhao)
    before = snapshot(case)

    with pytest.raises(CaseChangedMeanwhile):
        ask(seen_by_chen, chen, reason="out_of_scope", note="不属于城管")

    assert snapshot(case) == before
    assert ExclusionRequest.objects.count() == 1


def test_it_refuses_to_ask_about_an_excluded_case(case_in: CaseIn, zhao: User, supervisor: User) -> None:
    case = ask(case_in("closed"), zhao)
    case_exclude(case=case, actor=supervisor)

    with pytest.raises(TransitionNotAllowed):
        ask(fresh(case), zhao, note="再次申请")

    assert "request_exclusion" not in allowed_actions(case=fresh(case), user=zhao)


def test_it_decides_a_request_once(case_in: CaseIn, zhao: User, supervisor: User, town: Town) -> None:
    case = ask(case_in("closed"), zhao)
    colleague = User.objects.create_user(username="wu2", password="pw-for-tests-1")
    post_grant(user=colleague, unit=town.district, role=Role.SUPERVISOR)
    seen_by_colleague = fresh(case)
    case_exclude(case=case, actor=supervisor)
    before = snapshot(case)

    with pytest.raises(CaseChangedMeanwhile):
        case_refuse_exclusion(case=seen_by_colleague, actor=colleague, note="不同意")
    with pytest.raises(TransitionNotAllowed):
        case_refuse_exclusion(
            case=fresh(case), actor=supervisor, note="不同意", request=ExclusionRequest.objects.get()
        )

    assert snapshot(case) == before
    assert ExclusionRequest.objects.get().status == ExclusionRequest.Status.APPROVED


@pytest.mark.parametrize(
    ("reason", "note", "field"),
    [("spam", "说明", "reason"), ("malicious", "   ", "note"), ("malicious", "长" * 2001, "note")],
)
def test_it_refuses_bad_input_and_writes_nothing(
    case_in: CaseIn, zhao: User, reason: str, note: str, field: str
) -> None:
    case = case_in("closed")
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        ask(case, zhao, reason=reason, note=note)

    assert refused.value.field == field
    assert snapshot(case) == before
    assert not ExclusionRequest.objects.exists()


def test_it_refuses_a_refusal_without_a_reason(case_in: CaseIn, zhao: User, supervisor: User) -> None:
    case = ask(case_in("closed"), zhao)
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_refuse_exclusion(case=fresh(case), actor=supervisor, note="")

    assert refused.value.field == "note"
    assert snapshot(case) == before
    assert ExclusionRequest.objects.get().status == ExclusionRequest.Status.PENDING


# --- who asks, for which unit -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "unit"), [("chen", "urban"), ("zhao", "community"), ("qian", "street")])
def test_it_asks_for_the_unit_whose_figures_count_the_case(
    request: pytest.FixtureRequest, case_in: CaseIn, town: Town, name: str, unit: str
) -> None:
    case = case_in("closed")

    ask(case, request.getfixturevalue(name))

    assert ExclusionRequest.objects.get().unit == getattr(town, unit)


def test_it_asks_for_the_nearest_area_unless_another_is_named(case_in: CaseIn, town: Town) -> None:
    both = User.objects.create_user(username="both", password="pw-for-tests-1")
    post_grant(user=both, unit=town.community, role=Role.COMMUNITY_LIAISON)
    post_grant(user=both, unit=town.street, role=Role.STREET_LIAISON)

    ask(case_in("accepted"), both)
    case_request_exclusion(
        case=case_in("accepted"), actor=both, reason="duplicate", note="重复", unit=town.street
    )

    assert [r.unit for r in ExclusionRequest.objects.order_by("id")] == [town.community, town.street]
    with pytest.raises(InvalidInput) as refused:
        case_request_exclusion(
            case=case_in("accepted"), actor=both, reason="duplicate", note="x", unit=town.urban
        )
    assert refused.value.field == "unit"


def test_it_lets_a_grid_ask_only_for_what_it_handled_on_the_spot(
    case_in: CaseIn, wang: User, town: Town
) -> None:
    dispatched, handled = case_in("dispatched"), case_in("accepted")
    case_resolve(case=handled, actor=wang, result="当场劝离")

    with pytest.raises(NotPermitted):
        ask(dispatched, wang)
    ask(fresh(handled), wang)

    assert ExclusionRequest.objects.get().unit == town.grid


def test_it_refuses_a_department_that_no_longer_leads_the_case(
    case_in: CaseIn, chen: User, sun: User, centre: User, town: Town
) -> None:
    case = case_in("in_progress")
    case_return(case=case, actor=chen, reason="非本部门职责")
    case_dispatch(case=case, actor=centre, lead=town.water)

    with pytest.raises(NotPermitted):
        ask(fresh(case), chen)

    assert "request_exclusion" in allowed_actions(case=fresh(case), user=sun)


def test_it_leaves_exclusions_off_the_public_tracking_page(
    case_in: CaseIn, zhao: User, supervisor: User
) -> None:
    case = ask(case_in("closed"), zhao)
    case_exclude(case=case, actor=supervisor)

    response = Client().get(f"/t/{case.tracking_code}/")

    html = page(response)
    assert response.status_code == 200 and case.tracking_code in html
    assert "恶意" not in html and "剔除" not in html


# --- the bulletin's list ------------------------------------------------------------------------


def test_it_lists_the_exclusions_approved_in_a_period_and_an_area(
    new_case: CaseMaker, case_in: CaseIn, zhao: User, qian: User, centre: User, supervisor: User, town: Town
) -> None:
    def excluded(moment: str, asker: User, place: Unit | None = None) -> Case:
        case = case_in("closed")
        if place is not None:
            case = case_accept(case=new_case(place=place, building=None), actor=centre)
        ask(case, asker)
        with time_machine.travel(at(moment), tick=False):
            case_exclude(case=fresh(case), actor=supervisor)
        return case

    before = excluded("2026-09-30 23:59", zhao)
    first = excluded("2026-10-01 00:00", zhao)
    far = excluded("2026-10-15 12:00", qian, place=town.far_grid)
    excluded("2026-11-01 00:00", zhao)
    refused = ask(case_in("closed"), zhao)
    with time_machine.travel(at("2026-10-10 10:00"), tick=False):
        case_refuse_exclusion(case=refused, actor=supervisor, note="不同意")
    ask(case_in("closed"), zhao)  # still waiting

    october = approved_exclusions(start=date(2026, 10, 1), end=date(2026, 11, 1), place=town.street)
    in_community = approved_exclusions(
        start=at("2026-10-01 00:00"), end=at("2026-11-01 00:00"), place=town.community
    )

    assert [r.case for r in october] == [first, far]
    assert [r.case for r in in_community] == [first]
    assert before not in [
        r.case for r in approved_exclusions(start=date(2026, 10, 1), end=date(2027, 1, 1), place=None)
    ]
