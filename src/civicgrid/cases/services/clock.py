"""What the clock does when a timer is due: one function per rule, each deciding one event by the system.

Each rule first checks that its condition still holds (the unit may have reported in, the deadline
moved, the reporter rated) and otherwise decides nothing. `timer_fire` picks the rule and records its
step at once, or, given a `Batch`, queues it: a sweep writes a batch's steps in a few statements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from civicgrid import clock
from civicgrid.cases.errors import CaseChangedMeanwhile
from civicgrid.cases.models import (
    Assignment,
    AssignmentStatus,
    Case,
    Event,
    ExtensionRequest,
    Supervision,
    Timer,
)
from civicgrid.cases.policy import escalation_target
from civicgrid.cases.selectors import is_rated, last_resolution_seq
from civicgrid.cases.services._core import announce, record
from civicgrid.cases.services.handling import case_escalate
from civicgrid.cases.states import WITH_UNIT, Action
from civicgrid.cases.timers import OPEN_ASSIGNMENT, UNFINISHED
from civicgrid.org.models import Unit

Rule = Timer.Rule
PENDING = frozenset({AssignmentStatus.PENDING})


@dataclass(frozen=True)
class Step:
    """What a rule records: the event (by the system) and the case fields it changes."""

    action: Action
    unit: Unit | None = None
    data: dict[str, Any] = field(default_factory=dict)
    public: bool = True
    fields: dict[str, Any] = field(default_factory=dict)
    # The assignment the dispatcher's queue shows as 未报到 from the event's moment on.
    unreported: int | None = None


def _iso(moment: datetime) -> str:
    """A deadline as the events show it: local time, whichever way it was read."""
    return timezone.localtime(moment).isoformat()


def _waiting(case: Case, assignment: Assignment | None, statuses: frozenset[str]) -> Assignment | None:
    """The assignment when it is still active, in one of `statuses`, on a case a unit holds."""
    if assignment is None or case.status not in WITH_UNIT:
        return None
    if not assignment.active or assignment.status not in statuses:
        return None
    return assignment


def warn_response(case: Case, assignment: Assignment | None) -> Step | None:
    """预警: a share of the response time passed and the unit has not reported in."""
    waiting = _waiting(case, assignment, PENDING)
    if waiting is None:
        return None
    return _warn(assignment=waiting, rule="response", deadline=_iso(waiting.respond_by))


def warn_resolution(case: Case, assignment: Assignment | None) -> Step | None:
    """预警: a share of the resolution time passed and the unit still holds the case."""
    holding = _waiting(case, assignment, OPEN_ASSIGNMENT)
    if holding is None:
        return None
    return _warn(assignment=holding, rule="resolution", deadline=_iso(holding.resolve_by))


def _warn(*, assignment: Assignment, rule: str, deadline: str) -> Step:
    data = {"rule": rule, "assignment": assignment.pk, "deadline": deadline}
    return Step(Action.WARN, assignment.unit, data, public=False)


def response_overdue(case: Case, assignment: Assignment | None) -> Step | None:
    """The unit did not report in by its response deadline: it and the dispatchers are told."""
    waiting = _waiting(case, assignment, PENDING)
    if waiting is None:
        return None
    data = {"assignment": waiting.pk, "deadline": _iso(waiting.respond_by)}
    return Step(Action.RESPONSE_OVERDUE, waiting.unit, data, public=False)


def not_reported(case: Case, assignment: Assignment | None) -> Step | None:
    """Still silent after the grace: the dispatcher's queue shows the assignment as 未报到."""
    waiting = _waiting(case, assignment, PENDING)
    if waiting is None or waiting.unreported_at is not None:
        return None
    return Step(
        Action.NOT_REPORTED, waiting.unit, {"assignment": waiting.pk}, public=False, unreported=waiting.pk
    )


def _overdue(case: Case) -> bool:
    return case.status in UNFINISHED and case.resolve_by is not None and case.resolve_by <= clock.now()


def overdue(case: Case, assignment: Assignment | None = None) -> Step | None:
    """超期: open a yellow supervision (督办) on the unit answering for the case."""
    if not _overdue(case):
        return None
    assert case.resolve_by is not None
    data = {"auto": True, "level": "yellow", "rule": "overdue", "deadline": _iso(case.resolve_by)}
    # An escalated case stays red.
    fields = {"supervised_at": clock.now(), "supervision": case.supervision or Supervision.YELLOW}
    return Step(Action.SUPERVISE, case.owner, data, fields=fields)


def remind_extension(case: Case, assignment: Assignment | None = None) -> Step | None:
    """An extension request waits too long: remind its approvers."""
    request = case.extension_requests.filter(status=ExtensionRequest.Status.PENDING).first()
    if request is None or case.status not in WITH_UNIT:
        return None
    data = {"rule": "extension", "request": request.pk, "days": request.days}
    return Step(Action.REMIND, request.unit, data, public=False)


def _unrated_resolution(case: Case) -> int | None:
    """The seq of the latest resolution while the case is resolved and it has no rating."""
    if case.status != "resolved":
        return None
    seq = last_resolution_seq(case=case)
    return None if seq is None or is_rated(case=case, resolution_seq=seq) else seq


def request_rating(case: Case, assignment: Assignment | None = None) -> Step | None:
    """Just resolved: invite the reporter to rate (the tracking link goes out by SMS)."""
    seq = _unrated_resolution(case)
    if seq is None:
        return None
    return Step(Action.RATING_REQUEST, data={"resolution_seq": seq})


def callback_due(case: Case, assignment: Assignment | None = None) -> Step | None:
    """Still unrated: the case enters the operators' callback queue (回访)."""
    seq = _unrated_resolution(case)
    if seq is None or case.callback_requested_at is not None:
        return None
    fields = {"callback_requested_at": clock.now()}
    return Step(Action.CALLBACK_DUE, data={"resolution_seq": seq}, public=False, fields=fields)


def escalate(*, case: Case, assignment: Assignment | None = None) -> Event | None:
    """Still overdue later: hand the case to the parent area unit, under a red supervision."""
    if not (_overdue(case) and case.status in WITH_UNIT) or escalation_target(case=case) is None:
        return None
    case_escalate(case=case, actor=None, auto=True)
    return case.events.order_by("-seq").first()


Decide = Callable[[Case, Assignment | None], Step | None]
# Rules that decide one step (an escalation is a whole handover, recorded by its own service).
STEPS: dict[str, Decide] = {
    Rule.RESPONSE_WARNING: warn_response,
    Rule.RESPONSE_OVERDUE: response_overdue,
    Rule.NOT_REPORTED: not_reported,
    Rule.RESOLUTION_WARNING: warn_resolution,
    Rule.OVERDUE: overdue,
    Rule.EXTENSION_REMINDER: remind_extension,
    Rule.RATING_REQUEST: request_rating,
    Rule.CALLBACK: callback_due,
}


def _record(case: Case, step: Step) -> Event:
    """Record one step now, through the guarded `record` every action uses."""
    event = record(
        case=case,
        action=step.action,
        actor=None,
        unit=step.unit,
        data=step.data,
        public=step.public,
        **step.fields,
    )
    if step.unreported is not None:
        Assignment.objects.filter(pk=step.unreported).update(unreported_at=event.at)
    return event


class Batch:
    """Steps of distinct cases, decided one by one and written together: one guarded UPDATE per kind
    of change, one INSERT of the events, then each event announced as `record` does.

    The events are stamped with the batch's moment. The caller holds its transaction, in which each
    case appears once; `write` raises CaseChangedMeanwhile, having to be rolled back, when a case
    changed since it was read (a caller that read the cases FOR UPDATE never sees it)."""

    def __init__(self) -> None:
        self.moment = clock.now()
        self.queued: list[tuple[Case, Step, Event]] = []
        self.cases: set[int] = set()

    def add(self, case: Case, step: Step) -> Event:
        """Queue the step; the event it will record, not saved yet (its pk comes with `write`)."""
        if case.pk in self.cases:
            raise ValueError(f"case {case.number} has a step queued already")
        self.cases.add(case.pk)
        event = Event(
            case=case,
            seq=case.last_seq + 1,
            action=step.action.value,
            actor=None,
            unit=step.unit,
            from_status=case.status,
            to_status=case.status,
            note="",
            data=step.data,
            public=step.public,
            at=self.moment,
        )
        self.queued.append((case, step, event))
        return event

    def write(self) -> None:
        groups: dict[tuple[tuple[str, Any], ...], list[Case]] = {}
        for case, step, _event in self.queued:
            groups.setdefault(tuple(sorted(step.fields.items())), []).append(case)
        for fields, cases in groups.items():
            _update_guarded(cases, dict(fields))
        Event.objects.bulk_create([event for _case, _step, event in self.queued])
        unreported = [step.unreported for _case, step, _event in self.queued if step.unreported is not None]
        if unreported:
            Assignment.objects.filter(pk__in=unreported).update(unreported_at=self.moment)
        for case, _step, event in self.queued:
            announce(case=case, event=event)
        self.queued, self.cases = [], set()


def _update_guarded(cases: Sequence[Case], fields: dict[str, Any]) -> None:
    """`record`'s guarded UPDATE for many cases at once: each only at the version it was read."""
    by_version: dict[int, list[int]] = {}
    for case in cases:
        by_version.setdefault(case.version, []).append(case.pk)
    guard = Q()
    for version, ids in by_version.items():  # a few versions, however many cases
        guard |= Q(version=version, pk__in=ids)
    updated = Case.objects.filter(guard).update(
        version=F("version") + 1, last_seq=F("last_seq") + 1, **fields
    )
    if updated != len(cases):
        raise CaseChangedMeanwhile(", ".join(case.number for case in cases))
    for case in cases:
        for name, value in fields.items():
            setattr(case, name, value)
        case.version += 1
        case.last_seq += 1


def timer_fire(
    *,
    timer: Timer,
    case: Case | None = None,
    assignment: Assignment | None = None,
    batch: Batch | None = None,
) -> Event | None:
    """Do what the timer's rule says to its case, as it is now; None when the reason went away.

    `case` and `assignment` may come read already (a sweep reads a batch's rows at once); they are
    read here otherwise. Raises CaseChangedMeanwhile when someone else changed the case first, and
    then has written nothing: each rule's first write is its guarded `record`. Given a `batch`, the
    step is queued there and its event returned unsaved (an escalation is recorded at once).

    Inside a transaction it takes no savepoint of its own (a sweep fires a whole batch in one pass);
    called outside one, it runs in its own.
    """
    if not connection.in_atomic_block:
        with transaction.atomic():
            return timer_fire(timer=timer, case=case, assignment=assignment, batch=batch)
    if case is None:
        case = Case.objects.select_related("item", "place", "owner").get(pk=timer.case_id)
    if assignment is None and timer.assignment_id is not None:
        assignment = Assignment.objects.select_related("unit").filter(pk=timer.assignment_id).first()
    if timer.rule == Rule.ESCALATION:
        return escalate(case=case, assignment=assignment)
    step = STEPS[timer.rule](case, assignment)
    if step is None:
        return None
    return batch.add(case, step) if batch is not None else _record(case, step)
