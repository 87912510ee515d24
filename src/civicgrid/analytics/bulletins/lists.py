"""The bulletin's case lists: 超期 at the period's end, 督办 during it, 考核剔除 approved in it.

Read from the cases' indexed columns and the event log, scoped to the area's subtree, cut at
`list_limit` rows with the full count beside; as things stood at the period's end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils.translation import gettext as _

from civicgrid.analytics.bulletins.periods import Period
from civicgrid.analytics.facts import ENDS_OPEN
from civicgrid.analytics.scoping import midnight
from civicgrid.cases.models import Assignment, AssignmentRole, Case, Event, ExclusionRequest, Supervision
from civicgrid.cases.selectors import approved_exclusions, overdue_q
from civicgrid.cases.states import Action, Status
from civicgrid.org.models import Unit

T = TypeVar("T")


def list_limit() -> int:
    return int(settings.BULLETINS["list_limit"])


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The first rows of a case list and how many there are in all."""

    total: int
    rows: list[T]


@dataclass(frozen=True)
class OverdueRow:
    number: str
    item: str
    place: str
    handler: str
    deadline: datetime
    days: int  # started days past the deadline at the period's end


@dataclass(frozen=True)
class SupervisedRow:
    number: str
    item: str
    place: str
    handler: str
    level: str  # 黄色督办 / 红色督办
    times: int  # supervisions in the period
    first: datetime
    last: datetime


@dataclass(frozen=True)
class ExclusionRow:
    number: str
    item: str
    place: str
    unit: str
    reason: str
    note: str
    decided_by: str
    decided_at: datetime


# --- the lists --------------------------------------------------------------------------------


def _leads_at(case_ids: Iterable[int], moment: datetime) -> dict[int, str]:
    """The unit holding each case's lead assignment at `moment` (the handler then): one query."""
    leads = Assignment.objects.filter(
        case_id__in=case_ids, role=AssignmentRole.LEAD, dispatched_at__lt=moment
    )
    rows = leads.order_by("case_id", "dispatched_at", "id").values_list("case_id", "unit__name")
    return dict(rows)  # the latest of each case wins


def _ended_before(case_ids: Iterable[int], moment: datetime) -> set[int]:
    """The cases among these with an event ending them (resolve, reject, merge, withdraw, close)
    before `moment`: asked by case id, so it reads each case's own events (event_case_seq_unique)."""
    ended = Event.objects.filter(case_id__in=case_ids, action__in=ENDS_OPEN, at__lt=moment)
    return set(ended.values_list("case_id", flat=True).distinct())


_UNFINISHED = (Status.SUBMITTED, Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS)


def late_case_ids(unit: Unit, end: datetime) -> list[int]:
    """超期 at `end` as figures.py counts it: cases in the area due before `end` and not ended
    (resolved, rejected, merged, withdrawn or closed) by then, longest overdue first. Candidates come
    from two indexed reads — those unfinished now (overdue_q: case_status_due_idx) and those ended
    since `end` (event_action_at_idx) — then lose any that had ended before `end` (reopened since)."""
    due = Case.objects.filter(excluded_at__isnull=True, place__path__startswith=unit.path, resolve_by__lt=end)
    ended_since = Event.objects.filter(action__in=ENDS_OPEN, at__gte=end).values("case_id")
    still_open = due.filter(overdue_q(now=end))
    ended_later = due.filter(pk__in=ended_since).exclude(status__in=_UNFINISHED)
    candidates: dict[int, tuple[datetime, int]] = {}
    for part in (still_open, ended_later):
        for pk, deadline in part.values_list("pk", "resolve_by"):
            assert deadline is not None  # filtered on resolve_by < end
            candidates[pk] = (deadline, pk)
    gone = _ended_before(candidates, end)
    return sorted((pk for pk in candidates if pk not in gone), key=candidates.__getitem__)


def overdue(*, unit: Unit, period: Period) -> Listing[OverdueRow]:
    """Cases open past their resolution deadline at the period's end, longest overdue first."""
    end = midnight(period.end)
    late = late_case_ids(unit, end)
    shown = late[: list_limit()]
    fields = ("pk", "number", "item__name", "place__name", "resolve_by")
    cases = {row["pk"]: row for row in Case.objects.filter(pk__in=shown).values(*fields)}
    leads = _leads_at(shown, end)
    return Listing(len(late), [_overdue_row(cases[pk], leads.get(pk), end) for pk in shown])


def _overdue_row(row: Mapping[str, Any], handler: str | None, end: datetime) -> OverdueRow:
    deadline = row["resolve_by"]
    assert isinstance(deadline, datetime)
    days = math.ceil((end - deadline) / timedelta(days=1))
    return OverdueRow(
        number=str(row["number"]),
        item=str(row["item__name"] or _("（未分类）")),
        place=str(row["place__name"]),
        handler=handler or _("（未派单）"),
        deadline=deadline,
        days=days,
    )


def _supervisions(unit: Unit, start: datetime, end: datetime) -> QuerySet[Event]:
    """督办 events in the period: supervisions (yellow, by hand or by the clock) and the clock's
    escalations of overdue cases (red), for cases in the area (event_action_at_idx)."""
    marks = Q(action=Action.SUPERVISE) | Q(action=Action.ESCALATE, data__level=Supervision.RED.value)
    return Event.objects.filter(
        marks,
        at__gte=start,
        at__lt=end,
        case__place__path__startswith=unit.path,
        case__excluded_at__isnull=True,
    )


def supervised(*, unit: Unit, period: Period) -> Listing[SupervisedRow]:
    """Cases under supervision (督办) during the period, in the order they were first flagged."""
    start, end, limit = midnight(period.start), midnight(period.end), list_limit()
    per_case = (
        _supervisions(unit, start, end)
        .values("case_id")
        .annotate(first=Min("at"), last=Max("at"), times=Count("pk", filter=Q(action=Action.SUPERVISE)))
        .order_by("first", "case_id")
    )
    marks = {row["case_id"]: row for row in per_case[:limit]}
    red = Event.objects.filter(
        case_id__in=marks, action=Action.ESCALATE, data__level=Supervision.RED.value, at__lt=end
    )
    reds = set(red.values_list("case_id", flat=True))
    fields = ("pk", "number", "item__name", "place__name")
    cases = {c["pk"]: c for c in Case.objects.filter(pk__in=marks).values(*fields)}
    leads = _leads_at(marks, end)
    rows = [_supervised_row(cases[pk], mark, leads.get(pk), pk in reds) for pk, mark in marks.items()]
    return Listing(per_case.count(), rows)


def _supervised_row(
    case: Mapping[str, Any], mark: Mapping[str, Any], handler: str | None, red: bool
) -> SupervisedRow:
    level = Supervision.RED if red else Supervision.YELLOW
    first, last = mark["first"], mark["last"]
    assert isinstance(first, datetime) and isinstance(last, datetime)
    return SupervisedRow(
        number=str(case["number"]),
        item=str(case["item__name"] or _("（未分类）")),
        place=str(case["place__name"]),
        handler=handler or _("（未派单）"),
        level=str(level.label),
        times=int(mark["times"]),
        first=first,
        last=last,
    )


def exclusions(*, unit: Unit, period: Period) -> Listing[ExclusionRow]:
    """Exclusions (考核剔除) approved in the period for cases in the area."""
    found = approved_exclusions(start=period.start, end=period.end, place=unit)
    rows = [
        ExclusionRow(
            number=e.case.number,
            item=e.case.item.name if e.case.item else _("（未分类）"),
            place=e.case.place.name,
            unit=e.unit.name,
            reason=str(ExclusionRequest.Reason(e.reason).label),
            note=e.note,
            decided_by=str(e.decided_by) if e.decided_by else "",
            decided_at=e.decided_at or e.requested_at,
        )
        for e in found[: list_limit()]
    ]
    return Listing(found.count(), rows)
