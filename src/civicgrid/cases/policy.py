"""Who may do what to a case now: capacities from posts, the permission table, and state checks."""

from __future__ import annotations

from civicgrid.accounts.models import User
from civicgrid.cases.errors import NotPermitted
from civicgrid.cases.models import Assignment, AssignmentStatus, Case
from civicgrid.cases.reach import Reach, reach_of
from civicgrid.cases.selectors import (
    active_assignments,
    case_seen_by,
    exclusion_requests_made,
    is_rated,
    last_resolution_seq,
    pending_extension,
)
from civicgrid.cases.states import (
    USER_ACTIONS,
    Action,
    Capacity,
    Status,
    TransitionNotAllowed,
    can_start,
    may,
    may_in,
)
from civicgrid.org import refcache
from civicgrid.org.models import Unit
from civicgrid.org.selectors import area_parent

OPEN_ASSIGNMENT = (AssignmentStatus.PENDING, AssignmentStatus.ACKNOWLEDGED)
# A refused exclusion may be asked once more, with a new request (复核); the second refusal is final.
MAX_EXCLUSION_REQUESTS = 2


def capacities(*, case: Case, user: User, assignments: list[Assignment] | None = None) -> frozenset[Capacity]:
    """How `user` stands to `case`; the permission table grants actions to these."""
    reach = reach_of(user)
    place_path = case.place.path
    found: set[Capacity] = set()
    if reach.covers(reach.centre_paths, place_path):
        found.add(Capacity.CENTRE)
    if reach.covers(reach.supervisor_paths, place_path):
        found.add(Capacity.SUPERVISOR)
    if reach.covers(reach.leader_paths, place_path):
        found.add(Capacity.LEADER)
    if case.place_id in reach.worked_grid_ids:
        found.add(Capacity.GRID_WORKER)
    if case.created_by_id is not None and case.created_by_id == reach.user_id:
        found.add(Capacity.CREATOR)
    if reach.is_staff_member and case_seen_by(case=case, user=user):
        found.add(Capacity.VIEWER)
    current = active_assignments(case=case) if assignments is None else assignments
    found |= _handling_capacities(reach, current)
    if _assessed_units(reach, user, case, current):
        found.add(Capacity.ASSESSED)
    return frozenset(found)


# Areas whose figures are assessed (考核): a grid's work counts in its community's figures, so a grid
# asks for an exclusion only as the lead unit of a case it handled on the spot.
ASSESSED_AREA_KINDS = (Unit.Kind.DISTRICT, Unit.Kind.STREET, Unit.Kind.COMMUNITY)


def _handled_areas(reach: Reach, user: User) -> list[Unit]:
    """The assessed area units the user works in (not those an admin post oversees): once per user
    object, between requests from the reference cache."""
    memo: list[Unit] | None = getattr(user, "_civicgrid_handled_areas", None)
    if memo is None:
        memo = refcache.cached(
            refcache.key_for("handled-areas", str(reach.user_id)),
            lambda: list(Unit.objects.filter(pk__in=reach.handled_unit_ids, kind__in=ASSESSED_AREA_KINDS)),
        )
        user._civicgrid_handled_areas = memo  # type: ignore[attr-defined]
    return memo or []


def _assessed_units(reach: Reach, user: User, case: Case, assignments: list[Assignment]) -> list[Unit]:
    """The user's units whose figures count the case: its lead unit first, then the assessed areas
    holding its place from the nearest up. The lead stays the lead once it resolved (its figures
    count the case)."""
    units = [a.unit for a in assignments if a.role == "lead" and a.unit_id in reach.handled_unit_ids]
    # Only a handling post on an area above the place can add one: no query for anybody else.
    if reach.covers(reach.area_paths, case.place.path):
        areas = [u for u in _handled_areas(reach, user) if case.place.path.startswith(u.path)]
        units += sorted((u for u in areas if u not in units), key=lambda u: -u.depth)
    return units


def assessed_units(*, case: Case, user: User) -> list[Unit]:
    """The units through which `user` may ask to exclude `case` from the figures (考核剔除)."""
    return _assessed_units(reach_of(user), user, case, active_assignments(case=case))


def _handling_capacities(reach: Reach, assignments: list[Assignment]) -> set[Capacity]:
    found: set[Capacity] = set()
    for assignment in assignments:
        if assignment.unit_id not in reach.handled_unit_ids or assignment.status not in OPEN_ASSIGNMENT:
            continue
        found.add(Capacity.ASSIGNEE)
        if assignment.role == "lead":
            found.add(Capacity.LEAD_HANDLER)
    return found


def ensure_allowed(*, case: Case, actor: User | None, action: Action) -> frozenset[Capacity]:
    """Raise NotPermitted (403) or TransitionNotAllowed (409) unless `actor` may take `action` now.

    The system (actor None) may take any action the state allows.
    """
    assignments = active_assignments(case=case)
    caps = frozenset() if actor is None else capacities(case=case, user=actor, assignments=assignments)
    if actor is not None and not may(action, caps):
        raise NotPermitted(action)
    _ensure_state(case=case, action=action)
    if actor is not None and not may_in(action, case.status, caps):
        raise NotPermitted(action)
    problem = state_problem(case=case, action=action, caps=caps, actor=actor, assignments=assignments)
    if problem is not None:
        raise TransitionNotAllowed(action, problem)
    return caps


def _ensure_state(*, case: Case, action: Action) -> None:
    if not can_start(action, case.status):
        raise TransitionNotAllowed(action, f"not allowed from {case.status}")


def allowed_actions(
    *,
    case: Case,
    user: User,
    assignments: list[Assignment] | None = None,
    caps: frozenset[Capacity] | None = None,
) -> list[str]:
    """The actions `user` may take on `case` now, in the table's order."""
    assignments = active_assignments(case=case) if assignments is None else assignments
    caps = capacities(case=case, user=user, assignments=assignments) if caps is None else caps
    allowed: list[str] = []
    for action in USER_ACTIONS:
        if not (can_start(action, case.status) and may_in(action, case.status, caps)):
            continue
        if state_problem(case=case, action=action, caps=caps, actor=user, assignments=assignments) is None:
            allowed.append(action.value)
    return allowed


def state_problem(
    *,
    case: Case,
    action: Action,
    caps: frozenset[Capacity],
    actor: User | None,
    assignments: list[Assignment] | None = None,
) -> str | None:
    """Why `action` cannot be taken now beyond the status table (None when it can)."""
    current = active_assignments(case=case) if assignments is None else assignments
    if action == Action.ACKNOWLEDGE:
        return None if _pending_for(current, actor) else "no assignment of yours waits for acknowledgement"
    if action == Action.REQUEST_EXTENSION:
        return "an extension request is already waiting" if pending_extension(case=case) else None
    if action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
        return None if pending_extension(case=case) else "no extension request is waiting"
    if action == Action.ESCALATE:
        return None if _escalation_target(current) is not None else "the lead unit has no area above it"
    if action == Action.SUMMON:
        lead = _lead(current)
        return (
            None
            if lead is not None and lead.unit.is_area
            else "only an area unit leading the case may summon"
        )
    if action == Action.RESOLVE and case.status == Status.IN_PROGRESS:
        lead = _lead(current)
        return None if lead is not None and lead.acknowledged_at else "the lead unit has not acknowledged"
    if action in EXCLUSION_ACTIONS:
        return _exclusion_problem(case=case, action=action)
    if action == Action.EVALUATE:
        seq = last_resolution_seq(case=case)
        return (
            "this resolution is already rated"
            if seq is None or is_rated(case=case, resolution_seq=seq)
            else None
        )
    return None


EXCLUSION_ACTIONS = frozenset({Action.REQUEST_EXCLUSION, Action.EXCLUDE, Action.REFUSE_EXCLUSION})


def _exclusion_problem(*, case: Case, action: Action) -> str | None:
    """An excluded case stays excluded; one request waits at a time; two refusals end the asking."""
    waiting = case.exclusion_requested_at is not None
    if action != Action.REQUEST_EXCLUSION:
        return None if waiting else "no exclusion request is waiting"
    if case.excluded_at is not None:
        return "the case is already excluded from the figures"
    if waiting:
        return "an exclusion request is already waiting"
    if exclusion_requests_made(case=case) >= MAX_EXCLUSION_REQUESTS:
        return "the exclusion was refused twice; that decision is final"
    return None


def _pending_for(assignments: list[Assignment], actor: User | None) -> list[Assignment]:
    handled = reach_of(actor).handled_unit_ids if actor is not None else frozenset()
    return [
        a
        for a in assignments
        if a.status == AssignmentStatus.PENDING and (actor is None or a.unit_id in handled)
    ]


def _lead(assignments: list[Assignment]) -> Assignment | None:
    return next((a for a in assignments if a.role == "lead"), None)


def _escalation_target(assignments: list[Assignment]) -> Unit | None:
    lead = _lead(assignments)
    return area_parent(unit=lead.unit) if lead is not None else None


def escalation_target(*, case: Case) -> Unit | None:
    """The area unit one level above the lead unit: where an escalation sends the case."""
    return _escalation_target(active_assignments(case=case))


def pending_assignments_for(*, case: Case, actor: User | None) -> list[Assignment]:
    """The case's assignments waiting for `actor`'s units to acknowledge (all of them for the system)."""
    return _pending_for(active_assignments(case=case), actor)
