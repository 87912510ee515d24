"""The lifecycle table as data: every (action, status) pair, written out here so a change to it shows."""

from __future__ import annotations

import pytest

from civicgrid.cases.states import (
    PERMISSIONS,
    PERMISSIONS_IN,
    SYSTEM_ACTIONS,
    TRANSITIONS,
    USER_ACTIONS,
    Action,
    Capacity,
    Status,
    TransitionNotAllowed,
    acknowledge_target,
    can_start,
    evaluate_target,
    may,
    may_in,
    next_status,
)

S = Status
C = Capacity
WITH_UNIT = {S.DISPATCHED, S.IN_PROGRESS}
ENDED = (S.CLOSED, S.REJECTED, S.MERGED, S.WITHDRAWN)
ALL_STATUSES = tuple(Status)
# 考核剔除 is asked from acceptance on, and mostly after the fact: closed cases too.
EXCLUDABLE = frozenset({S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED})
EXCLUSION_ACTIONS = (Action.REQUEST_EXCLUSION, Action.EXCLUDE, Action.REFUSE_EXCLUSION)
ACTIONS = tuple(a for a in Action if a not in SYSTEM_ACTIONS)

# action -> (the statuses it may start from, the status it leads to; None keeps the status).
# Written out by hand from DESIGN.md §3, never computed from TRANSITIONS.
EXPECTED: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.ACCEPT: (frozenset({S.SUBMITTED}), S.ACCEPTED),
    Action.REJECT: (frozenset({S.SUBMITTED}), S.REJECTED),
    Action.DISPATCH: (frozenset({S.ACCEPTED}), S.DISPATCHED),
    Action.ACKNOWLEDGE: (frozenset(WITH_UNIT), S.IN_PROGRESS),
    Action.RETURN: (frozenset(WITH_UNIT), S.ACCEPTED),
    Action.REQUEST_EXTENSION: (frozenset(WITH_UNIT), None),
    Action.APPROVE_EXTENSION: (frozenset(WITH_UNIT), None),
    Action.DENY_EXTENSION: (frozenset(WITH_UNIT), None),
    Action.ESCALATE: (frozenset(WITH_UNIT), S.DISPATCHED),
    Action.SUMMON: (frozenset(WITH_UNIT), None),
    Action.RESOLVE: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.RESOLVED),
    Action.EVALUATE: (frozenset({S.RESOLVED}), S.CLOSED),
    # Closed is an end state (DESIGN.md §3): reopening is the review of a resolution, not of an archive.
    Action.REOPEN: (frozenset({S.RESOLVED}), S.IN_PROGRESS),
    Action.CLOSE: (frozenset({S.RESOLVED}), S.CLOSED),
    Action.MERGE: (frozenset({S.SUBMITTED, S.ACCEPTED}), S.MERGED),
    Action.WITHDRAW: (frozenset({S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS}), S.WITHDRAWN),
    Action.SUPERVISE: (frozenset({S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS}), None),
    Action.NOTE: (frozenset(ALL_STATUSES), None),
    # Exclusions change the figures, never the status.
    Action.REQUEST_EXCLUSION: (EXCLUDABLE, None),
    Action.EXCLUDE: (EXCLUDABLE, None),
    Action.REFUSE_EXCLUSION: (EXCLUDABLE, None),
}

# action -> the capacities granted it (any status), then the narrower grants for one status.
EXPECTED_PERMISSIONS: dict[Action, frozenset[Capacity]] = {
    Action.ACCEPT: frozenset({C.CENTRE, C.GRID_WORKER}),
    Action.REJECT: frozenset({C.CENTRE}),
    Action.DISPATCH: frozenset({C.CENTRE}),
    Action.ACKNOWLEDGE: frozenset({C.ASSIGNEE}),
    Action.RETURN: frozenset({C.LEAD_HANDLER}),
    Action.REQUEST_EXTENSION: frozenset({C.LEAD_HANDLER}),
    Action.APPROVE_EXTENSION: frozenset({C.SUPERVISOR}),
    Action.DENY_EXTENSION: frozenset({C.SUPERVISOR}),
    Action.ESCALATE: frozenset({C.LEAD_HANDLER, C.SUPERVISOR}),
    Action.SUMMON: frozenset({C.LEAD_HANDLER}),
    Action.RESOLVE: frozenset({C.LEAD_HANDLER, C.GRID_WORKER}),
    Action.EVALUATE: frozenset({C.CENTRE, C.CREATOR}),
    Action.REOPEN: frozenset({C.SUPERVISOR, C.CENTRE}),
    Action.CLOSE: frozenset({C.CENTRE, C.SUPERVISOR}),
    Action.MERGE: frozenset({C.CENTRE}),
    Action.WITHDRAW: frozenset({C.CENTRE, C.CREATOR}),
    Action.SUPERVISE: frozenset({C.SUPERVISOR, C.LEADER}),
    Action.NOTE: frozenset({C.VIEWER}),
    Action.REQUEST_EXCLUSION: frozenset({C.ASSESSED}),
    Action.EXCLUDE: frozenset({C.SUPERVISOR}),
    Action.REFUSE_EXCLUSION: frozenset({C.SUPERVISOR}),
}
EXPECTED_PERMISSIONS_IN: dict[tuple[Action, Status], frozenset[Capacity]] = {
    (Action.RESOLVE, S.ACCEPTED): frozenset({C.GRID_WORKER}),
    (Action.RESOLVE, S.IN_PROGRESS): frozenset({C.LEAD_HANDLER}),
}


def expected_target(action: Action, status: Status) -> Status | None:
    """Where the written-out table takes `action` from `status`; None when it may not start there."""
    starts, target = EXPECTED[action]
    if status not in starts:
        return None
    return status if target is None else target


PAIRS = [(action, status) for action in ACTIONS for status in ALL_STATUSES]
ALLOWED_PAIRS = [(a, s) for a, s in PAIRS if expected_target(a, s) is not None]
REFUSED_PAIRS = [(a, s) for a, s in PAIRS if expected_target(a, s) is None]


def pair_id(action: Action, status: Status) -> str:
    return f"{action.value}-from-{status.value}"


def test_it_lists_every_user_action_in_the_table() -> None:
    assert set(USER_ACTIONS) == set(EXPECTED) == set(ACTIONS)
    assert Action.CREATE not in TRANSITIONS


def test_it_keeps_the_clocks_actions_out_of_users_reach() -> None:
    assert {Action.CREATE, Action.WARN, Action.CALLBACK_DUE} <= SYSTEM_ACTIONS
    assert not SYSTEM_ACTIONS & set(USER_ACTIONS)


@pytest.mark.parametrize(("action", "status"), ALLOWED_PAIRS, ids=[pair_id(*p) for p in ALLOWED_PAIRS])
def test_it_moves_an_allowed_pair_to_the_tables_target(action: Action, status: Status) -> None:
    target = next_status(action, status)

    assert target == expected_target(action, status)
    assert can_start(action, status)


@pytest.mark.parametrize(("action", "status"), REFUSED_PAIRS, ids=[pair_id(*p) for p in REFUSED_PAIRS])
def test_it_refuses_a_pair_outside_the_start_set(action: Action, status: Status) -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        next_status(action, status)

    assert refused.value.action == action
    assert not can_start(action, status)


def test_it_accepts_the_status_as_a_plain_string() -> None:
    assert next_status(Action.DISPATCH, "accepted") is Status.DISPATCHED
    assert next_status(Action.SUPERVISE, "dispatched") is Status.DISPATCHED
    with pytest.raises(TransitionNotAllowed):
        next_status(Action.DISPATCH, "submitted")


@pytest.mark.parametrize("status", sorted(set(ENDED) - {S.CLOSED}))
def test_it_allows_only_a_note_on_an_ended_case(status: Status) -> None:
    possible = [action for action in ACTIONS if can_start(action, status)]

    assert possible == [Action.NOTE]
    assert next_status(Action.NOTE, status) == status


def test_it_allows_a_note_and_the_exclusions_on_a_closed_case() -> None:
    possible = [action for action in ACTIONS if can_start(action, S.CLOSED)]

    assert possible == [Action.NOTE, *EXCLUSION_ACTIONS]
    assert {next_status(action, S.CLOSED) for action in possible} == {S.CLOSED}


def test_it_closes_on_a_satisfied_or_basically_satisfied_evaluation() -> None:
    assert evaluate_target(dissatisfied=False) == Status.CLOSED


def test_it_keeps_a_dissatisfied_evaluation_resolved_for_review() -> None:
    assert evaluate_target(dissatisfied=True) == Status.RESOLVED


@pytest.mark.parametrize("status", sorted(WITH_UNIT))
def test_it_starts_the_work_when_the_lead_acknowledges(status: Status) -> None:
    assert acknowledge_target(status, lead=True) == Status.IN_PROGRESS


@pytest.mark.parametrize("status", sorted(WITH_UNIT))
def test_it_keeps_the_status_when_an_assisting_unit_acknowledges(status: Status) -> None:
    assert acknowledge_target(status, lead=False) == status


@pytest.mark.parametrize("lead", [True, False])
@pytest.mark.parametrize("status", sorted(set(ALL_STATUSES) - WITH_UNIT))
def test_it_refuses_an_acknowledgement_without_a_unit_holding_the_case(status: Status, lead: bool) -> None:
    with pytest.raises(TransitionNotAllowed):
        acknowledge_target(status, lead=lead)


def test_it_grants_each_action_to_the_written_capacities() -> None:
    assert PERMISSIONS == EXPECTED_PERMISSIONS
    assert PERMISSIONS_IN == EXPECTED_PERMISSIONS_IN


def test_it_gives_an_accepted_case_to_the_grid_worker_only_for_resolving() -> None:
    lead_handler, grid_worker = frozenset({C.LEAD_HANDLER}), frozenset({C.GRID_WORKER})

    assert may(Action.RESOLVE, lead_handler) and may(Action.RESOLVE, grid_worker)
    assert may_in(Action.RESOLVE, S.ACCEPTED, grid_worker)
    assert not may_in(Action.RESOLVE, S.ACCEPTED, lead_handler)
    assert may_in(Action.RESOLVE, S.IN_PROGRESS, lead_handler)
    assert not may_in(Action.RESOLVE, S.IN_PROGRESS, grid_worker)


def test_it_falls_back_to_the_actions_grant_where_no_status_narrows_it() -> None:
    assert may_in(Action.ESCALATE, S.DISPATCHED, frozenset({C.SUPERVISOR}))
    assert not may_in(Action.ESCALATE, S.DISPATCHED, frozenset({C.LEADER, C.VIEWER}))
