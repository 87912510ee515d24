"""Every statistic of DESIGN §4, one function each, read from the event log for a period and a scope.

A period is [start, end). Numerators count only what happened before `end`, so a past period gives the
same figures whenever it is recomputed. Each function returns its numerator and denominator; the rate
is derived, never stored.

Scope: `place` (cases located in the unit's subtree, or everywhere when None) is the only scope so far.
The handler scope (assignments given to a unit) and grouping by unit, domain, item, channel, kind or
day come next; they will add parameters here, not new definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from civicgrid.cases.models import Assignment, Case, Evaluation, Event, Satisfaction
from civicgrid.cases.states import Action
from civicgrid.org.models import Unit

FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Ratio:
    """A figure as numerator / denominator; the numerator is a Decimal only for weighted variants."""

    numerator: int | Decimal
    denominator: int

    @property
    def rate(self) -> Decimal | None:
        """0.9616 for 96.16 %; None when there is nothing to divide by (never 0 or 100 %)."""
        if self.denominator == 0:
            return None
        return (Decimal(self.numerator) / self.denominator).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def _cases(*, place: Unit | None) -> QuerySet[Case]:
    return Case.objects.all() if place is None else Case.objects.filter(place__path__startswith=place.path)


def _events(*, start: datetime, end: datetime, place: Unit | None) -> QuerySet[Event]:
    events = Event.objects.filter(at__gte=start, at__lt=end)
    return events if place is None else events.filter(case__place__path__startswith=place.path)


def _evaluations(*, start: datetime, end: datetime, place: Unit | None) -> QuerySet[Evaluation]:
    found = Evaluation.objects.filter(at__gte=start, at__lt=end)
    return found if place is None else found.filter(case__place__path__startswith=place.path)


def _event_ratio(
    *, numerator: Action, denominator: Action, start: datetime, end: datetime, place: Unit | None
) -> Ratio:
    """Events of one action over events of another, both in P (one query)."""
    found = _events(start=start, end=end, place=place).filter(action__in=[numerator, denominator])
    counts = found.aggregate(
        n=Count("pk", filter=Q(action=numerator)), d=Count("pk", filter=Q(action=denominator))
    )
    return Ratio(counts["n"], counts["d"])


def accepted(*, start: datetime, end: datetime, place: Unit | None = None) -> int:
    """受理量: cases with an accept event in P; a count, not a ratio.

    Rejected cases never have one. DESIGN also wants merged duplicates counted apart: not done yet.
    """
    found = _events(start=start, end=end, place=place).filter(action=Action.ACCEPT)
    return int(found.aggregate(n=Count("case", distinct=True))["n"])


def proactive_share(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """主动发现占比: cases accepted in P that were found proactively / cases accepted in P."""
    found = _events(start=start, end=end, place=place).filter(action=Action.ACCEPT)
    counts = found.aggregate(
        n=Count("case", distinct=True, filter=Q(case__proactive=True)), d=Count("case", distinct=True)
    )
    return Ratio(counts["n"], counts["d"])


def response_rate(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """响应率: assignments whose response deadline falls in P, acknowledged on or before it / those.

    An acknowledgement on or before a deadline inside P is also before `end`, so the figure is stable.
    """
    found = Assignment.objects.filter(respond_by__gte=start, respond_by__lt=end)
    if place is not None:
        found = found.filter(case__place__path__startswith=place.path)
    counts = found.aggregate(n=Count("pk", filter=Q(acknowledged_at__lte=F("respond_by"))), d=Count("pk"))
    return Ratio(counts["n"], counts["d"])


def _due(*, start: datetime, end: datetime, place: Unit | None) -> QuerySet[Case]:
    """应办结: cases whose resolution deadline (after approved extensions) falls in P.

    The deadline is the case's current one: a reopened case is due again at its fresh deadline.
    """
    return _cases(place=place).filter(resolve_by__gte=start, resolve_by__lt=end)


def _due_ratio(*, resolved: Q, start: datetime, end: datetime, place: Unit | None) -> Ratio:
    """Due cases with a resolve event matching `resolved` / due cases.

    A join, not a correlated EXISTS: SQLite would answer each EXISTS from the (action, at) index,
    scanning every resolution once per due case.
    """
    counts = _due(start=start, end=end, place=place).aggregate(
        n=Count("pk", distinct=True, filter=Q(events__action=Action.RESOLVE) & resolved),
        d=Count("pk", distinct=True),
    )
    return Ratio(counts["n"], counts["d"])


def closure_rate(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """办结率: due cases resolved (a resolve event) before the end of P / due cases."""
    return _due_ratio(resolved=Q(events__at__lt=end), start=start, end=end, place=place)


def on_time_rate(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """按期办结率: due cases resolved on or before their deadline / due cases."""
    return _due_ratio(resolved=Q(events__at__lte=F("resolve_by")), start=start, end=end, place=place)


def satisfaction(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """满意率: (satisfied + basically satisfied) / evaluations recorded in P; unrated is not satisfied."""
    content = [Satisfaction.SATISFIED, Satisfaction.BASICALLY]
    counts = _evaluations(start=start, end=end, place=place).aggregate(
        n=Count("pk", filter=Q(satisfaction__in=content)), d=Count("pk")
    )
    return Ratio(counts["n"], counts["d"])


def satisfaction_weighted(
    *, start: datetime, end: datetime, place: Unit | None = None, weight: Decimal = Decimal("0.9")
) -> Ratio:
    """满意率 (weighted): (satisfied + weight × basically satisfied) / evaluations recorded in P."""
    counts = _evaluations(start=start, end=end, place=place).aggregate(
        s=Count("pk", filter=Q(satisfaction=Satisfaction.SATISFIED)),
        b=Count("pk", filter=Q(satisfaction=Satisfaction.BASICALLY)),
        d=Count("pk"),
    )
    return Ratio(counts["s"] + weight * counts["b"], counts["d"])


def participation(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """参评率: evaluations recorded in P / resolutions (resolve events) in P."""
    return _event_ratio(
        numerator=Action.EVALUATE, denominator=Action.RESOLVE, start=start, end=end, place=place
    )


def solved_rate(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """解决率: evaluations in P answering "solved" / evaluations in P."""
    counts = _evaluations(start=start, end=end, place=place).aggregate(
        n=Count("pk", filter=Q(solved=True)), d=Count("pk")
    )
    return Ratio(counts["n"], counts["d"])


def return_rate(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """退单率: return events in P / dispatch events in P."""
    return _event_ratio(
        numerator=Action.RETURN, denominator=Action.DISPATCH, start=start, end=end, place=place
    )


def reopen_rate(*, start: datetime, end: datetime, place: Unit | None = None) -> Ratio:
    """重办率: reopen events in P / resolve events in P."""
    return _event_ratio(
        numerator=Action.REOPEN, denominator=Action.RESOLVE, start=start, end=end, place=place
    )


# Actions after which a case is no longer open: 办结 resolve, and the terminal ones.
_ENDS_OPEN = (Action.RESOLVE, Action.REJECT, Action.MERGE, Action.WITHDRAW, Action.CLOSE)


def overdue(*, end: datetime, place: Unit | None = None) -> int:
    """超期: cases open past their resolution deadline at `end`; a count, not a ratio.

    Open at `end` means: resolve_by < end, and no resolve, reject, merge, withdraw or close event
    before `end`. Judged from the event log, so a past `end` gives the same figure whenever it is
    recomputed. Simplifications: resolve_by is the case's current deadline (as for 应办结), and a
    case resolved once before `end` is not counted even if it was reopened before `end` and is past
    its fresh deadline (any resolve event before `end` closes the question).
    """
    ended = Event.objects.filter(case=OuterRef("pk"), action__in=_ENDS_OPEN, at__lt=end)
    return _cases(place=place).filter(resolve_by__lt=end).filter(~Exists(ended)).count()
