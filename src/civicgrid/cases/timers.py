"""The clock's plan: which timers a case should have now, and keeping its stored timers in line.

`desired_timers` is pure (plain values in, a set of planned timers out); `replan_timers` reads the case's
facts, compares with its stored timers, deletes the unfired ones no longer wanted and inserts the missing
ones. A timer is identified by (assignment or case, rule, due moment): a moved deadline plans a new one,
and a key already stored — fired or not — is never planned twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery

from civicgrid.cases.deadlines import extend_deadline
from civicgrid.cases.models import Assignment, AssignmentStatus, Case, ExtensionRequest, Timer
from civicgrid.cases.states import WITH_UNIT, Status

Rule = Timer.Rule
# Statuses whose resolution deadline is running (the case is not resolved, not ended).
UNFINISHED: frozenset[str] = frozenset({Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS})
# Statuses that may have timers at all; any other status only loses its unfired ones.
PLANNED: frozenset[str] = UNFINISHED | {Status.RESOLVED}
OPEN_ASSIGNMENT: frozenset[str] = frozenset({AssignmentStatus.PENDING, AssignmentStatus.ACKNOWLEDGED})

WorkingDaysAfter = Callable[[datetime, int], datetime]


@dataclass(frozen=True)
class Thresholds:
    """The clock's settings for one catalogue level."""

    warn_share: float
    not_reported_after: timedelta
    escalate_after_hours: float
    escalate_after_working_days: int
    extension_remind_after: timedelta
    callback_after: timedelta


def thresholds_for(level: int | None) -> Thresholds:
    """settings.CLOCK, with the item level's overrides from settings.CLOCK_BY_LEVEL on top."""
    values = {**settings.CLOCK, **(settings.CLOCK_BY_LEVEL.get(str(level), {}) if level is not None else {})}
    return Thresholds(
        warn_share=float(values["warn_share"]),
        not_reported_after=timedelta(hours=float(values["not_reported_after_hours"])),
        escalate_after_hours=float(values["escalate_after_hours"]),
        escalate_after_working_days=int(values["escalate_after_working_days"]),
        extension_remind_after=timedelta(hours=float(values["extension_remind_hours"])),
        callback_after=timedelta(days=float(values["callback_after_days"])),
    )


@dataclass(frozen=True)
class AssignmentFacts:
    """What the plan needs of one active assignment."""

    id: int
    status: str
    dispatched_at: datetime
    respond_by: datetime
    resolve_by: datetime


@dataclass(frozen=True)
class CaseFacts:
    """What the plan needs of a case: its fields, active assignments and a waiting extension request."""

    status: str
    accepted_at: datetime | None = None
    resolve_by: datetime | None = None
    resolved_at: datetime | None = None
    # Whether the latest resolution has its rating (only asked while resolved).
    rated: bool = False
    assignments: tuple[AssignmentFacts, ...] = ()
    extension_requested_at: datetime | None = None


@dataclass(frozen=True)
class Planned:
    """One timer the plan wants: the key that identifies it in storage."""

    rule: str
    due_at: datetime
    assignment_id: int | None = None


def _share(start: datetime, end: datetime, share: float) -> datetime:
    return start + (end - start) * share


def escalation_moment(
    resolve_by: datetime, limits: Thresholds, working_days_after: WorkingDaysAfter
) -> datetime:
    """Clock hours when set for the level (emergencies), otherwise working days past the deadline."""
    if limits.escalate_after_hours > 0:
        return resolve_by + timedelta(hours=limits.escalate_after_hours)
    return working_days_after(resolve_by, limits.escalate_after_working_days)


def _assignment_timers(a: AssignmentFacts, facts: CaseFacts, limits: Thresholds) -> set[Planned]:
    planned: set[Planned] = set()
    if a.status == AssignmentStatus.PENDING:
        planned |= {
            Planned(Rule.RESPONSE_WARNING, _share(a.dispatched_at, a.respond_by, limits.warn_share), a.id),
            Planned(Rule.RESPONSE_OVERDUE, a.respond_by, a.id),
            Planned(Rule.NOT_REPORTED, a.respond_by + limits.not_reported_after, a.id),
        }
    if a.status in OPEN_ASSIGNMENT and facts.accepted_at is not None:
        # The resolution clock starts at acceptance. A unit given the case after the warning point
        # (escalated to, summoned late) is not warned about time it never had: its dispatch tells it.
        warn_at = _share(facts.accepted_at, a.resolve_by, limits.warn_share)
        if warn_at > a.dispatched_at:
            planned.add(Planned(Rule.RESOLUTION_WARNING, warn_at, a.id))
    return planned


def desired_timers(
    facts: CaseFacts, limits: Thresholds, *, working_days_after: WorkingDaysAfter = extend_deadline
) -> set[Planned]:
    """Every timer the case should have now, whether or not its moment has passed."""
    planned: set[Planned] = set()
    if facts.status in WITH_UNIT:
        for assignment in facts.assignments:
            planned |= _assignment_timers(assignment, facts, limits)
        if facts.extension_requested_at is not None:
            due = facts.extension_requested_at + limits.extension_remind_after
            planned.add(Planned(Rule.EXTENSION_REMINDER, due))
    if facts.status in UNFINISHED and facts.resolve_by is not None:
        planned.add(Planned(Rule.OVERDUE, facts.resolve_by))
        if facts.status in WITH_UNIT:
            due = escalation_moment(facts.resolve_by, limits, working_days_after)
            planned.add(Planned(Rule.ESCALATION, due))
    if facts.status == Status.RESOLVED and not facts.rated and facts.resolved_at is not None:
        planned.add(Planned(Rule.RATING_REQUEST, facts.resolved_at))
        planned.add(Planned(Rule.CALLBACK, facts.resolved_at + limits.callback_after))
    return planned


def _level_and_request(case: Case) -> tuple[int | None, datetime | None]:
    """The item's level and a waiting extension request's time, in one query."""
    waiting = ExtensionRequest.objects.filter(case=OuterRef("pk"), status=ExtensionRequest.Status.PENDING)
    row = (
        Case.objects.filter(pk=case.pk)
        .values_list(F("item__level"), Subquery(waiting.values("requested_at")[:1]))
        .first()
    )
    return (row[0], row[1]) if row is not None else (None, None)


def case_facts(*, case: Case) -> tuple[CaseFacts, int | None]:
    """The plan's view of `case` as it is now in this transaction, and its item's level."""
    level: int | None = None
    requested_at: datetime | None = None
    assignments: tuple[AssignmentFacts, ...] = ()
    if case.status in WITH_UNIT:
        level, requested_at = _level_and_request(case)
        rows = Assignment.objects.filter(case=case, active=True).values_list(
            "id", "status", "dispatched_at", "respond_by", "resolve_by"
        )
        assignments = tuple(AssignmentFacts(*row) for row in rows)
    elif case.status == Status.RESOLVED and case.item is not None:
        level = case.item.level
    facts = CaseFacts(
        status=case.status,
        accepted_at=case.accepted_at,
        resolve_by=case.resolve_by,
        resolved_at=case.resolved_at,
        # While resolved, a rating either closed the case or (dissatisfied) asked for a review.
        rated=case.review_requested_at is not None,
        assignments=assignments,
        extension_requested_at=requested_at,
    )
    return facts, level


def replan_timers(*, case: Case) -> None:
    """Bring the case's stored timers in line with its plan; call inside the change's transaction."""
    if case.status not in PLANNED:
        _delete_unfired(Timer.objects.filter(case=case))
        return
    facts, level = case_facts(case=case)
    wanted = desired_timers(facts, thresholds_for(level))
    stored = Timer.objects.filter(case=case).values_list("pk", "assignment_id", "rule", "due_at", "fired_at")
    have: set[Planned] = set()
    stale: list[int] = []
    for pk, assignment_id, rule, due_at, fired_at in stored:
        key = Planned(rule, due_at, assignment_id)
        have.add(key)
        if fired_at is None and key not in wanted:
            stale.append(pk)
    if stale:
        _delete_unfired(Timer.objects.filter(pk__in=stale))
    missing = wanted - have
    if missing:
        Timer.objects.bulk_create(
            Timer(case=case, assignment_id=p.assignment_id, rule=p.rule, due_at=p.due_at) for p in missing
        )


def _delete_unfired(timers: QuerySet[Timer]) -> None:
    """Delete the unfired ones, skipping rows a worker's running batch has claimed (PostgreSQL).

    Waiting for such a row could deadlock: that worker may be waiting for this case's row, which this
    transaction holds. A skipped timer is fired by the worker, whose re-check then finds nothing to do.
    """
    unfired = timers.filter(fired_at__isnull=True).values("pk")
    if connection.features.has_select_for_update_skip_locked:
        unfired = unfired.select_for_update(skip_locked=True)
    Timer.objects.filter(pk__in=unfired).delete()


def replan_open_cases() -> int:
    """Plan every case that may have timers: after an upgrade, or when the clock's settings changed.

    Each case in its own short transaction, holding its row so no action interleaves with the plan.
    """
    count = 0
    for pk in Case.objects.filter(status__in=PLANNED).values_list("pk", flat=True).iterator():
        with transaction.atomic():
            case = Case.objects.select_for_update().filter(pk=pk, status__in=PLANNED).first()
            if case is not None:
                replan_timers(case=case)
                count += 1
    return count
