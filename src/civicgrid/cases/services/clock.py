"""What the clock does when a timer is due: one function per rule, each recording one event by the system.

Each first checks that its condition still holds (the unit may have reported in, the deadline moved,
the reporter rated) and otherwise does nothing and returns None. `timer_fire` picks the function.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from civicgrid import clock
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
from civicgrid.cases.services._core import record
from civicgrid.cases.services.handling import case_escalate
from civicgrid.cases.states import WITH_UNIT, Action
from civicgrid.cases.timers import OPEN_ASSIGNMENT, UNFINISHED

Rule = Timer.Rule
PENDING = frozenset({AssignmentStatus.PENDING})


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


def clock_warn_response(*, case: Case, assignment: Assignment | None) -> Event | None:
    """预警: a share of the response time passed and the unit has not reported in."""
    waiting = _waiting(case, assignment, PENDING)
    if waiting is None:
        return None
    return _warn(case=case, assignment=waiting, rule="response", deadline=_iso(waiting.respond_by))


def clock_warn_resolution(*, case: Case, assignment: Assignment | None) -> Event | None:
    """预警: a share of the resolution time passed and the unit still holds the case."""
    holding = _waiting(case, assignment, OPEN_ASSIGNMENT)
    if holding is None:
        return None
    return _warn(case=case, assignment=holding, rule="resolution", deadline=_iso(holding.resolve_by))


def _warn(*, case: Case, assignment: Assignment, rule: str, deadline: str) -> Event:
    return record(
        case=case,
        action=Action.WARN,
        actor=None,
        unit=assignment.unit,
        data={"rule": rule, "assignment": assignment.pk, "deadline": deadline},
        public=False,
    )


def clock_response_overdue(*, case: Case, assignment: Assignment | None) -> Event | None:
    """The unit did not report in by its response deadline: it and the dispatchers are told."""
    waiting = _waiting(case, assignment, PENDING)
    if waiting is None:
        return None
    return record(
        case=case,
        action=Action.RESPONSE_OVERDUE,
        actor=None,
        unit=waiting.unit,
        data={"assignment": waiting.pk, "deadline": _iso(waiting.respond_by)},
        public=False,
    )


def clock_not_reported(*, case: Case, assignment: Assignment | None) -> Event | None:
    """Still silent after the grace: the dispatcher's queue shows the assignment as 未报到."""
    waiting = _waiting(case, assignment, PENDING)
    if waiting is None or waiting.unreported_at is not None:
        return None
    event = record(
        case=case,
        action=Action.NOT_REPORTED,
        actor=None,
        unit=waiting.unit,
        data={"assignment": waiting.pk},
        public=False,
    )
    Assignment.objects.filter(pk=waiting.pk).update(unreported_at=event.at)
    return event


def _overdue(case: Case) -> bool:
    return case.status in UNFINISHED and case.resolve_by is not None and case.resolve_by <= clock.now()


def clock_overdue(*, case: Case, assignment: Assignment | None = None) -> Event | None:
    """超期: open a yellow supervision (督办) on the unit answering for the case."""
    if not _overdue(case):
        return None
    assert case.resolve_by is not None
    return record(
        case=case,
        action=Action.SUPERVISE,
        actor=None,
        unit=case.owner,
        data={"auto": True, "level": "yellow", "rule": "overdue", "deadline": _iso(case.resolve_by)},
        supervised_at=clock.now(),
        # An escalated case stays red.
        supervision=case.supervision or Supervision.YELLOW,
    )


def clock_escalate(*, case: Case, assignment: Assignment | None = None) -> Event | None:
    """Still overdue later: hand the case to the parent area unit, under a red supervision."""
    if not (_overdue(case) and case.status in WITH_UNIT) or escalation_target(case=case) is None:
        return None
    case_escalate(case=case, actor=None, auto=True)
    return case.events.order_by("-seq").first()


def clock_remind_extension(*, case: Case, assignment: Assignment | None = None) -> Event | None:
    """An extension request waits too long: remind its approvers."""
    request = case.extension_requests.filter(status=ExtensionRequest.Status.PENDING).first()
    if request is None or case.status not in WITH_UNIT:
        return None
    return record(
        case=case,
        action=Action.REMIND,
        actor=None,
        unit=request.unit,
        data={"rule": "extension", "request": request.pk, "days": request.days},
        public=False,
    )


def _unrated_resolution(case: Case) -> int | None:
    """The seq of the latest resolution while the case is resolved and it has no rating."""
    if case.status != "resolved":
        return None
    seq = last_resolution_seq(case=case)
    return None if seq is None or is_rated(case=case, resolution_seq=seq) else seq


def clock_request_rating(*, case: Case, assignment: Assignment | None = None) -> Event | None:
    """Just resolved: invite the reporter to rate (the tracking link goes out by SMS)."""
    seq = _unrated_resolution(case)
    if seq is None:
        return None
    return record(case=case, action=Action.RATING_REQUEST, actor=None, data={"resolution_seq": seq})


def clock_callback_due(*, case: Case, assignment: Assignment | None = None) -> Event | None:
    """Still unrated: the case enters the operators' callback queue (回访)."""
    seq = _unrated_resolution(case)
    if seq is None or case.callback_requested_at is not None:
        return None
    return record(
        case=case,
        action=Action.CALLBACK_DUE,
        actor=None,
        data={"resolution_seq": seq},
        public=False,
        callback_requested_at=clock.now(),
    )


Fire = Callable[..., Event | None]
FIRES: dict[str, Fire] = {
    Rule.RESPONSE_WARNING: clock_warn_response,
    Rule.RESPONSE_OVERDUE: clock_response_overdue,
    Rule.NOT_REPORTED: clock_not_reported,
    Rule.RESOLUTION_WARNING: clock_warn_resolution,
    Rule.OVERDUE: clock_overdue,
    Rule.ESCALATION: clock_escalate,
    Rule.EXTENSION_REMINDER: clock_remind_extension,
    Rule.RATING_REQUEST: clock_request_rating,
    Rule.CALLBACK: clock_callback_due,
}


@transaction.atomic
def timer_fire(
    *, timer: Timer, case: Case | None = None, assignment: Assignment | None = None
) -> Event | None:
    """Do what the timer's rule says to its case, as it is now; None when the reason went away.

    `case` and `assignment` may come read already (a sweep reads a batch's rows at once); they are
    read here otherwise. Raises CaseChangedMeanwhile when someone else changed the case first.
    """
    if case is None:
        case = Case.objects.select_related("item", "place", "owner").get(pk=timer.case_id)
    if assignment is None and timer.assignment_id is not None:
        assignment = Assignment.objects.select_related("unit").filter(pk=timer.assignment_id).first()
    return FIRES[timer.rule](case=case, assignment=assignment)
