"""The lifecycle through the services, with real people: every (action, status) pair, then the flows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.deadlines import extend_deadline
from civicgrid.cases.errors import InvalidInput, NotPermitted
from civicgrid.cases.models import (
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Case,
    Evaluation,
    Event,
    ExtensionRequest,
)
from civicgrid.cases.policy import allowed_actions
from civicgrid.cases.services.exclusions import case_exclude, case_refuse_exclusion, case_request_exclusion
from civicgrid.cases.states import Action, Status, TransitionNotAllowed
from civicgrid.org.models import Unit
from tests.conftest import CaseMaker, Town, at
from tests.test_states import (
    ALL_STATUSES,
    ALLOWED_PAIRS,
    EXCLUDABLE,
    REFUSED_PAIRS,
    WITH_UNIT,
    expected_target,
    pair_id,
)

PERSONAS = ("centre", "supervisor", "leader", "wang", "li", "zhao", "qian", "chen", "sun", "integrator")
UNDONE_AT_INTAKE = {Status.SUBMITTED, Status.ACCEPTED, Status.REJECTED, Status.MERGED, Status.WITHDRAWN}


@dataclass(frozen=True)
class World:
    """The town, its people by name, and ways to build a case in any status through the services."""

    town: Town
    people: dict[str, User]
    case_in: Callable[[str], Case]
    new_case: CaseMaker

    def build(self, shape: str, status: Status) -> Case:
        """`plain`: 城管 leads (conftest's case_in); `assisted`: 水务 assists; `community`: 社区 leads."""
        if shape == "plain" or status in UNDONE_AT_INTAKE:
            return self.case_in(status)
        if shape == "assisted":
            return self.led_by(status, lead=self.town.urban, handler="chen", assist=[self.town.water])
        assert shape == "community", shape
        return self.led_by(status, lead=self.town.community, handler="zhao")

    def led_by(self, status: Status, *, lead: Unit, handler: str, assist: Sequence[Unit] = ()) -> Case:
        centre, worker = self.people["centre"], self.people[handler]
        case = self.case_in("accepted")
        services.case_dispatch(case=case, actor=centre, lead=lead, assist=assist)
        if status == Status.DISPATCHED:
            return case
        services.case_acknowledge(case=case, actor=worker)
        if status == Status.IN_PROGRESS:
            return case
        services.case_resolve(case=case, actor=worker, result="已处理完毕")
        if status == Status.RESOLVED:
            return case
        assert status == Status.CLOSED, status
        return services.case_close(case=case, actor=centre)


def world_from(request: pytest.FixtureRequest) -> World:
    return World(
        town=request.getfixturevalue("town"),
        people={name: request.getfixturevalue(name) for name in PERSONAS},
        case_in=request.getfixturevalue("case_in"),
        new_case=request.getfixturevalue("new_case"),
    )


@pytest.fixture
def world(request: pytest.FixtureRequest) -> World:
    return world_from(request)


Act = Callable[[Case, User, World], Case]


@dataclass(frozen=True)
class Way:
    """How one action is taken: the service call, by whom, on which shape of case, after what."""

    act: Act
    actor: str
    shape: str = "plain"
    actor_in: Mapping[Status, str] = field(default_factory=dict)
    prepare: Callable[[Case, World], None] | None = None

    def actor_for(self, status: Status) -> str:
        return self.actor_in.get(status, self.actor)


def ask_for_extension(case: Case, world: World) -> None:
    """The lead handler asks for 3 more days, when the case is with a unit and can be asked for."""
    if case.status in WITH_UNIT:
        services.case_request_extension(case=case, actor=world.people["chen"], days=3, reason="需协调")


def ask_for_exclusion(case: Case, world: World) -> None:
    """The community, whose figures count the case, asks to exclude it where it can be asked."""
    if case.status in EXCLUDABLE:
        case_request_exclusion(
            case=case, actor=world.people["zhao"], reason="malicious", note="同一人反复恶意投诉"
        )


WAYS: dict[Action, Way] = {
    Action.ACCEPT: Way(lambda c, u, w: services.case_accept(case=c, actor=u), "centre"),
    Action.REJECT: Way(lambda c, u, w: services.case_reject(case=c, actor=u, reason="重复来电"), "centre"),
    Action.DISPATCH: Way(
        lambda c, u, w: services.case_dispatch(case=c, actor=u, lead=w.town.urban), "centre"
    ),
    # The lead's acknowledgement moves a dispatched case; in progress only an assisting unit waits.
    Action.ACKNOWLEDGE: Way(
        lambda c, u, w: services.case_acknowledge(case=c, actor=u),
        "chen",
        shape="assisted",
        actor_in={Status.IN_PROGRESS: "sun"},
    ),
    Action.RETURN: Way(lambda c, u, w: services.case_return(case=c, actor=u, reason="非本单位职责"), "chen"),
    Action.REQUEST_EXTENSION: Way(
        lambda c, u, w: services.case_request_extension(case=c, actor=u, days=3, reason="需协调"), "chen"
    ),
    Action.APPROVE_EXTENSION: Way(
        lambda c, u, w: services.case_approve_extension(case=c, actor=u),
        "supervisor",
        prepare=ask_for_extension,
    ),
    Action.DENY_EXTENSION: Way(
        lambda c, u, w: services.case_deny_extension(case=c, actor=u, reason="理由不足"),
        "supervisor",
        prepare=ask_for_extension,
    ),
    Action.ESCALATE: Way(lambda c, u, w: services.case_escalate(case=c, actor=u), "supervisor"),
    # Only an area unit leading the case may summon departments (吹哨).
    Action.SUMMON: Way(
        lambda c, u, w: services.case_summon(case=c, actor=u, units=[w.town.urban]),
        "zhao",
        shape="community",
    ),
    # From accepted it is the grid worker's on-the-spot handling; in progress the lead unit's.
    Action.RESOLVE: Way(
        lambda c, u, w: services.case_resolve(case=c, actor=u, result="已处理"),
        "wang",
        actor_in={Status.IN_PROGRESS: "chen"},
    ),
    Action.EVALUATE: Way(
        lambda c, u, w: services.case_evaluate(case=c, actor=u, solved=True, satisfaction="satisfied"),
        "integrator",
    ),
    Action.REOPEN: Way(
        lambda c, u, w: services.case_reopen(case=c, actor=u, reason="复核未通过"), "supervisor"
    ),
    Action.CLOSE: Way(lambda c, u, w: services.case_close(case=c, actor=u), "centre"),
    Action.MERGE: Way(lambda c, u, w: services.case_merge(case=c, actor=u, into=w.new_case()), "centre"),
    Action.WITHDRAW: Way(
        lambda c, u, w: services.case_withdraw(case=c, actor=u, reason="已自行解决"), "integrator"
    ),
    Action.SUPERVISE: Way(
        lambda c, u, w: services.case_supervise(case=c, actor=u, note="请加快办理"), "supervisor"
    ),
    Action.NOTE: Way(lambda c, u, w: services.case_note(case=c, actor=u, text="已电话联系"), "centre"),
    # An area unit above the place always counts the case, so only the state can turn it away.
    Action.REQUEST_EXCLUSION: Way(
        lambda c, u, w: case_request_exclusion(case=c, actor=u, reason="duplicate", note="与前一诉求重复"),
        "zhao",
    ),
    Action.EXCLUDE: Way(
        lambda c, u, w: case_exclude(case=c, actor=u), "supervisor", prepare=ask_for_exclusion
    ),
    Action.REFUSE_EXCLUSION: Way(
        lambda c, u, w: case_refuse_exclusion(case=c, actor=u, note="证据不足"),
        "supervisor",
        prepare=ask_for_exclusion,
    ),
}

# Acknowledging, returning, asking for time and summoning belong to a unit holding an open
# assignment; outside dispatched/in progress nobody holds one, so the right is checked (and
# refused) before the state.
UNIT_ACTIONS = (Action.ACKNOWLEDGE, Action.RETURN, Action.REQUEST_EXTENSION, Action.SUMMON)
NOBODY_HOLDS_IT = frozenset(
    (action, status) for action in UNIT_ACTIONS for status in ALL_STATUSES if status not in WITH_UNIT
)


@dataclass(frozen=True)
class Snapshot:
    """The case row, its assignments and its event count, as read from the database."""

    row: dict[str, Any]
    assignments: list[tuple[Any, ...]]
    events: int


def snapshot(case: Case) -> Snapshot:
    return Snapshot(
        row=dict(Case.objects.values().get(pk=case.pk)),
        assignments=list(
            Assignment.objects.filter(case_id=case.pk)
            .order_by("id")
            .values_list("unit_id", "status", "active")
        ),
        events=Event.objects.filter(case_id=case.pk).count(),
    )


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def last_event(case: Case) -> Event:
    return Event.objects.filter(case_id=case.pk).order_by("-seq").first() or pytest.fail("no events")


def given(world: World, action: Action, status: Status) -> tuple[Case, User]:
    """A case in `status`, made ready for `action`, and the person who would take it."""
    way = WAYS[action]
    case = world.build(way.shape, status)
    if way.prepare is not None:
        way.prepare(case, world)
    return fresh(case), world.people[way.actor_for(status)]


@pytest.mark.parametrize(("action", "status"), ALLOWED_PAIRS, ids=[pair_id(*p) for p in ALLOWED_PAIRS])
def test_it_takes_an_action_to_the_tables_status_with_one_more_event(
    world: World, action: Action, status: Status
) -> None:
    case, actor = given(world, action, status)
    before = snapshot(case)

    WAYS[action].act(case, actor, world)

    after, event, target = fresh(case), last_event(case), expected_target(action, status)
    assert target is not None
    assert after.status == target
    assert snapshot(case).events == before.events + 1
    assert (event.seq, after.last_seq) == (before.row["last_seq"] + 1, before.row["last_seq"] + 1)
    assert (event.action, event.from_status, event.to_status) == (action.value, status.value, target.value)
    assert event.actor == actor


@pytest.mark.parametrize(("action", "status"), REFUSED_PAIRS, ids=[pair_id(*p) for p in REFUSED_PAIRS])
def test_it_refuses_an_action_from_a_status_outside_the_table_and_writes_nothing(
    world: World, action: Action, status: Status
) -> None:
    case, actor = given(world, action, status)
    before = snapshot(case)
    refusal = NotPermitted if (action, status) in NOBODY_HOLDS_IT else TransitionNotAllowed

    with pytest.raises(refusal):
        WAYS[action].act(case, actor, world)

    assert snapshot(case) == before


# --- 退单 return ---------------------------------------------------------------------------------


def test_it_sends_a_returned_case_back_to_the_centre_and_ends_the_lead_assignment(
    case_in: Callable[[str], Case], chen: User, centre: User, town: Town
) -> None:
    case = case_in("dispatched")

    services.case_return(case=case, actor=chen, reason="不属于城管职责")

    case = fresh(case)
    lead = case.assignments.get(unit=town.urban)
    assert (case.status, case.owner, case.respond_by) == (Status.ACCEPTED, town.district, None)
    assert (lead.status, lead.active, lead.ended_at is not None) == (AssignmentStatus.RETURNED, False, True)
    assert "dispatch" in allowed_actions(case=case, user=centre)
    assert allowed_actions(case=case, user=chen) == ["note"]


# --- 提级 escalate --------------------------------------------------------------------------------


def test_it_escalates_a_community_led_case_to_the_street(
    world: World, zhao: User, qian: User, town: Town
) -> None:
    case = world.build("community", Status.IN_PROGRESS)

    services.case_escalate(case=case, actor=zhao, note="社区无力解决")

    case = fresh(case)
    old = case.assignments.get(unit=town.community)
    new = case.assignments.get(unit=town.street)
    assert (case.status, case.owner) == (Status.DISPATCHED, town.street)
    assert (old.status, old.active) == (AssignmentStatus.ESCALATED, False)
    assert (new.role, new.status, new.active) == (AssignmentRole.LEAD, AssignmentStatus.PENDING, True)
    assert allowed_actions(case=case, user=qian)[:2] == ["acknowledge", "return"]
    assert "acknowledge" not in allowed_actions(case=case, user=zhao)


def test_it_refuses_to_escalate_above_the_district(world: World, supervisor: User, town: Town) -> None:
    case = world.led_by(Status.DISPATCHED, lead=town.district, handler="centre")
    before = snapshot(case)

    with pytest.raises(TransitionNotAllowed):
        services.case_escalate(case=case, actor=supervisor)

    assert snapshot(case) == before


# --- 吹哨 summon ----------------------------------------------------------------------------------


def test_it_summons_departments_as_assisting_units(
    world: World, zhao: User, chen: User, sun: User, town: Town
) -> None:
    case = world.build("community", Status.IN_PROGRESS)

    services.case_summon(case=case, actor=zhao, units=[town.urban, town.water], note="请城管、水务报到")

    helpers = case.assignments.filter(role=AssignmentRole.ASSIST).order_by("unit__code")
    assert [(a.unit.code, a.status, a.active) for a in helpers] == [
        ("D-CG", AssignmentStatus.PENDING, True),
        ("D-SW", AssignmentStatus.PENDING, True),
    ]
    services.case_acknowledge(case=case, actor=chen)
    services.case_acknowledge(case=case, actor=sun)
    assert fresh(case).status == Status.IN_PROGRESS


@pytest.mark.parametrize("unit_name", ["street", "grid"])
def test_it_refuses_to_summon_a_unit_that_is_not_a_department(
    world: World, zhao: User, unit_name: str
) -> None:
    case = world.build("community", Status.DISPATCHED)
    before = snapshot(case)
    unit: Unit = getattr(world.town, unit_name)

    with pytest.raises(InvalidInput) as refused:
        services.case_summon(case=case, actor=zhao, units=[world.town.urban, unit])

    assert refused.value.field == "units"
    assert snapshot(case) == before


def test_it_refuses_a_summons_from_a_department_leading_the_case(
    case_in: Callable[[str], Case], chen: User, town: Town
) -> None:
    case = case_in("in_progress")

    with pytest.raises(TransitionNotAllowed):
        services.case_summon(case=case, actor=chen, units=[town.water])

    assert not case.assignments.filter(unit=town.water).exists()


# --- 延期 extensions ------------------------------------------------------------------------------


def test_it_moves_the_deadline_by_the_approved_working_days(
    case_in: Callable[[str], Case], chen: User, supervisor: User
) -> None:
    with time_machine.travel(at("2025-09-24 10:00"), tick=False):
        case = case_in("in_progress")
    agreed = case.resolve_by
    assert agreed is not None

    with time_machine.travel(at("2025-09-29 09:00"), tick=False):
        services.case_request_extension(case=case, actor=chen, days=5, reason="国庆假期无法施工")
        services.case_approve_extension(case=case, actor=supervisor, note="同意")

    case = fresh(case)
    assert case.resolve_by == extend_deadline(agreed, 5)
    assert case.resolve_by > agreed
    assert {a.resolve_by for a in case.assignments.filter(active=True)} == {case.resolve_by}
    assert case.extension_requests.get().status == ExtensionRequest.Status.APPROVED


def test_it_refuses_a_second_extension_request_while_one_waits(
    case_in: Callable[[str], Case], chen: User
) -> None:
    case = case_in("dispatched")
    services.case_request_extension(case=case, actor=chen, days=3, reason="需协调")
    before = snapshot(fresh(case))

    with pytest.raises(TransitionNotAllowed):
        services.case_request_extension(case=fresh(case), actor=chen, days=2, reason="再延两天")

    assert snapshot(case) == before
    assert case.extension_requests.count() == 1


def test_it_keeps_the_deadline_when_an_extension_is_denied(
    case_in: Callable[[str], Case], chen: User, supervisor: User
) -> None:
    with time_machine.travel(at("2025-06-03 10:00"), tick=False):
        case = case_in("in_progress")
        agreed = case.resolve_by
        services.case_request_extension(case=case, actor=chen, days=3, reason="需协调")

        services.case_deny_extension(case=case, actor=supervisor, reason="可按期完成")

    case = fresh(case)
    assert case.resolve_by == agreed
    assert case.extension_requests.get().status == ExtensionRequest.Status.DENIED
    assert "request_extension" in allowed_actions(case=case, user=chen)


def test_it_refuses_to_decide_when_no_extension_waits(
    case_in: Callable[[str], Case], supervisor: User
) -> None:
    case = case_in("in_progress")
    before = snapshot(case)

    with pytest.raises(TransitionNotAllowed):
        services.case_approve_extension(case=case, actor=supervisor)
    with pytest.raises(TransitionNotAllowed):
        services.case_deny_extension(case=case, actor=supervisor, reason="无")

    assert snapshot(case) == before


# --- 评价 evaluate, 重办 reopen -------------------------------------------------------------------


def test_it_closes_a_case_rated_satisfied(case_in: Callable[[str], Case], integrator: User) -> None:
    case = case_in("resolved")

    services.case_evaluate(case=case, actor=integrator, solved=True, satisfaction="satisfied")

    case = fresh(case)
    assert case.status == Status.CLOSED
    assert case.closed_at is not None
    assert case.evaluations.get().satisfaction == "satisfied"


def test_it_keeps_a_dissatisfied_case_resolved_and_refuses_a_second_rating(
    case_in: Callable[[str], Case], integrator: User, centre: User
) -> None:
    case = case_in("resolved")
    services.case_evaluate(case=case, actor=integrator, solved=False, satisfaction="dissatisfied")
    before = snapshot(fresh(case))

    with pytest.raises(TransitionNotAllowed):
        services.case_evaluate(case=fresh(case), actor=centre, solved=True, satisfaction="satisfied")

    assert before.row["status"] == Status.RESOLVED
    assert snapshot(case) == before
    assert case.evaluations.count() == 1


def test_it_rates_again_after_a_reopen_and_a_new_resolution(
    case_in: Callable[[str], Case], integrator: User, supervisor: User, chen: User
) -> None:
    case = case_in("resolved")
    services.case_evaluate(case=case, actor=integrator, solved=False, satisfaction="dissatisfied")
    services.case_reopen(case=case, actor=supervisor, reason="群众不满意，重办")
    assert fresh(case).status == Status.IN_PROGRESS
    services.case_resolve(case=case, actor=chen, result="已彻底清理")

    services.case_evaluate(case=case, actor=integrator, solved=True, satisfaction="basically")

    assert fresh(case).status == Status.CLOSED
    seqs = list(
        Evaluation.objects.filter(case=case).order_by("at", "id").values_list("resolution_seq", flat=True)
    )
    assert len(seqs) == 2 and seqs[0] < seqs[1]


# --- 小事一格解决 on-the-spot handling -----------------------------------------------------------


def test_it_lets_the_grid_worker_accept_and_resolve_on_the_spot(
    new_case: CaseMaker, wang: User, town: Town
) -> None:
    case = new_case()

    services.case_accept(case=case, actor=wang)
    services.case_resolve(case=case, actor=wang, result="当场劝离摊贩")

    case = fresh(case)
    lead = case.assignments.get()
    assert (case.status, case.owner) == (Status.RESOLVED, town.grid)
    assert (lead.unit, lead.role, lead.status) == (town.grid, AssignmentRole.LEAD, AssignmentStatus.RESOLVED)
    assert lead.acknowledged_at is not None
    assert last_event(case).data == {"on_the_spot": True}


def test_it_refuses_on_the_spot_handling_by_the_neighbouring_grid_worker(
    new_case: CaseMaker, case_in: Callable[[str], Case], li: User
) -> None:
    submitted, accepted = new_case(), case_in("accepted")
    before = snapshot(submitted), snapshot(accepted)

    with pytest.raises(NotPermitted):
        services.case_accept(case=submitted, actor=li)
    with pytest.raises(NotPermitted):
        services.case_resolve(case=accepted, actor=li, result="不是我的网格")

    assert (snapshot(submitted), snapshot(accepted)) == before


# --- 合并 merge, 撤回 withdraw -------------------------------------------------------------------


def test_it_refuses_to_merge_a_case_into_itself(new_case: CaseMaker, centre: User) -> None:
    case = new_case()
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        services.case_merge(case=case, actor=centre, into=case)

    assert refused.value.field == "into"
    assert snapshot(case) == before


def test_it_merges_a_duplicate_into_the_other_case(new_case: CaseMaker, centre: User) -> None:
    original, duplicate = new_case(), new_case()

    services.case_merge(case=duplicate, actor=centre, into=original)

    duplicate = fresh(duplicate)
    assert (duplicate.status, duplicate.merged_into) == (Status.MERGED, original)
    assert fresh(original).status == Status.SUBMITTED


def test_it_ends_every_assignment_when_the_case_is_withdrawn(world: World, integrator: User) -> None:
    case = world.build("assisted", Status.DISPATCHED)

    services.case_withdraw(case=case, actor=integrator, reason="已自行解决")

    assert fresh(case).status == Status.WITHDRAWN
    assert list(case.assignments.values_list("unit__code", "status", "active")) == [
        ("D-CG", AssignmentStatus.ENDED, False),
        ("D-SW", AssignmentStatus.ENDED, False),
    ]


# --- 督办 supervise, 备注 note --------------------------------------------------------------------


def test_it_flags_a_case_for_supervision_again_and_again(
    case_in: Callable[[str], Case], supervisor: User, leader: User
) -> None:
    with time_machine.travel(at("2025-06-03 09:00"), tick=False):
        case = case_in("in_progress")
        services.case_supervise(case=case, actor=supervisor, note="请加快办理")
    first = fresh(case).supervised_at

    with time_machine.travel(at("2025-06-05 09:00"), tick=False):
        services.case_supervise(case=case, actor=leader, note="再次催办")

    case = fresh(case)
    assert (first, case.supervised_at) == (at("2025-06-03 09:00"), at("2025-06-05 09:00"))
    assert case.status == Status.IN_PROGRESS
    assert list(case.events.filter(action="supervise").values_list("unit__code", flat=True)) == [
        "D-CG",
        "D-CG",
    ]


def test_it_keeps_a_note_internal(case_in: Callable[[str], Case], chen: User) -> None:
    case = case_in("in_progress")

    services.case_note(case=case, actor=chen, text="已联系摊主")

    note = last_event(case)
    assert (note.action, note.public, note.note) == ("note", False, "已联系摊主")
    assert not case.events.exclude(pk=note.pk).filter(public=False).exists()
    assert fresh(case).status == Status.IN_PROGRESS
