"""Every statistic of DESIGN §4, one function each, read from the event log for a period and a scope.

A period is [start, end). Numerators count only what happened before `end`, so a past period gives the
same figures whenever it is recomputed. Each function returns its numerator and denominator; the rate
is derived, never stored.

Scopes: `place` (cases located in the unit's subtree, everywhere when None) and `handler` (what a
unit handled: the cases whose latest lead assignment is the unit's, except that an assignment's
response, a dispatch and a return belong to the unit they name). `where` narrows to a slice of cases
(an item, a domain, a channel…): the direct recomputation of one group of figures.py. Cases with an
approved exclusion (考核剔除) count in no figure.

This is the reference definition, read straight from the log; screens read the same figures from
the rollups (figures.py), and a property test checks the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from civicgrid.cases.models import Assignment, AssignmentRole, Case, Evaluation, Event, Satisfaction
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


REPEAT_DAYS = 30


@dataclass(frozen=True)
class Scope:
    """Which cases and which unit's work a figure covers (see the module docstring)."""

    place: Unit | None = None
    handler: Unit | None = None
    where: Q | None = None

    def cases(self, *, by_handler: bool = True) -> QuerySet[Case]:
        found = Case.objects.filter(excluded_at__isnull=True)
        if self.place is not None:
            found = found.filter(place__path__startswith=self.place.path)
        if self.where is not None:
            found = found.filter(self.where)
        if by_handler and self.handler is not None:
            found = found.annotate(handler_id=Subquery(_latest_lead)).filter(handler_id=self.handler.pk)
        return found


_latest_lead = (
    Assignment.objects.filter(case=OuterRef("pk"), role=AssignmentRole.LEAD)
    .order_by("-dispatched_at", "-id")
    .values("unit_id")[:1]
)


def _scope(place: Unit | None, handler: Unit | None, where: Q | None) -> Scope:
    return Scope(place=place, handler=handler, where=where)


def _events(*, start: datetime, end: datetime, scope: Scope) -> QuerySet[Event]:
    return Event.objects.filter(at__gte=start, at__lt=end, case__in=scope.cases())


def _evaluations(*, start: datetime, end: datetime, scope: Scope) -> QuerySet[Evaluation]:
    return Evaluation.objects.filter(at__gte=start, at__lt=end, case__in=scope.cases())


def _event_ratio(
    *, numerator: Action, denominator: Action, start: datetime, end: datetime, scope: Scope
) -> Ratio:
    """Events of one action over events of another, both in P (one query)."""
    found = _events(start=start, end=end, scope=scope).filter(action__in=[numerator, denominator])
    counts = found.aggregate(
        n=Count("pk", filter=Q(action=numerator)), d=Count("pk", filter=Q(action=denominator))
    )
    return Ratio(counts["n"], counts["d"])


# Every public figure takes the period and these keyword-only scope arguments.
Where = Q | None


def accepted(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> int:
    """受理量: cases with an accept event in P; a count, not a ratio. Rejected and merged cases never
    have one (they are counted apart, by their own events)."""
    found = _events(start=start, end=end, scope=_scope(place, handler, where)).filter(action=Action.ACCEPT)
    return int(found.aggregate(n=Count("case", distinct=True))["n"])


def proactive_share(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """主动发现占比: cases accepted in P that were found proactively / cases accepted in P."""
    found = _events(start=start, end=end, scope=_scope(place, handler, where)).filter(action=Action.ACCEPT)
    counts = found.aggregate(
        n=Count("case", distinct=True, filter=Q(case__proactive=True)), d=Count("case", distinct=True)
    )
    return Ratio(counts["n"], counts["d"])


def repeat_share(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """重复诉求: cases accepted in P that repeat an earlier case / cases accepted in P. A repeat has an
    earlier case (any status, not excluded) created within 30 days before it, from the same phone,
    or in the same building about the same item."""
    window = Q(created_at__gte=OuterRef("created_at") - timedelta(days=REPEAT_DAYS)) & (
        Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
    )
    counted = Case.objects.filter(window, excluded_at__isnull=True)
    same_phone = counted.filter(reporter_phone=OuterRef("reporter_phone")).exclude(reporter_phone="")
    same_place = counted.filter(building=OuterRef("building"), item=OuterRef("item"))
    accepted_in_p = _events(start=start, end=end, scope=_scope(place, handler, where)).filter(
        action=Action.ACCEPT
    )
    cases = Case.objects.filter(pk__in=accepted_in_p.values("case_id"))
    repeated = cases.filter(Exists(same_phone) | Exists(same_place))
    return Ratio(repeated.count(), cases.count())


def response_rate(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """响应率: assignments whose response deadline falls in P, acknowledged on or before it / those.

    An acknowledgement on or before a deadline inside P is also before `end`, so the figure is stable.
    By handler: the unit's own assignments.
    """
    scope = _scope(place, None, where)
    found = Assignment.objects.filter(respond_by__gte=start, respond_by__lt=end, case__in=scope.cases())
    if handler is not None:
        found = found.filter(unit=handler)
    counts = found.aggregate(n=Count("pk", filter=Q(acknowledged_at__lte=F("respond_by"))), d=Count("pk"))
    return Ratio(counts["n"], counts["d"])


def _due(*, start: datetime, end: datetime, scope: Scope) -> QuerySet[Case]:
    """应办结: cases whose resolution deadline (after approved extensions) falls in P.

    The deadline is the case's current one: a reopened case is due again at its fresh deadline.
    """
    return scope.cases().filter(resolve_by__gte=start, resolve_by__lt=end)


def due(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> int:
    """应办结: how many cases are due in P."""
    return _due(start=start, end=end, scope=_scope(place, handler, where)).count()


def _due_ratio(*, resolved: Q, start: datetime, end: datetime, scope: Scope) -> Ratio:
    """Due cases with a resolve event matching `resolved` / due cases.

    A join, not a correlated EXISTS: SQLite would answer each EXISTS from the (action, at) index,
    scanning every resolution once per due case.
    """
    counts = _due(start=start, end=end, scope=scope).aggregate(
        n=Count("pk", distinct=True, filter=Q(events__action=Action.RESOLVE) & resolved),
        d=Count("pk", distinct=True),
    )
    return Ratio(counts["n"], counts["d"])


def closure_rate(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """办结率: due cases resolved (a resolve event) before the end of P / due cases."""
    return _due_ratio(
        resolved=Q(events__at__lt=end), start=start, end=end, scope=_scope(place, handler, where)
    )


def on_time_rate(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """按期办结率: due cases resolved on or before their deadline / due cases."""
    return _due_ratio(
        resolved=Q(events__at__lte=F("resolve_by")), start=start, end=end, scope=_scope(place, handler, where)
    )


def satisfaction(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """满意率: (satisfied + basically satisfied) / evaluations recorded in P; unrated is not satisfied."""
    content = [Satisfaction.SATISFIED, Satisfaction.BASICALLY]
    counts = _evaluations(start=start, end=end, scope=_scope(place, handler, where)).aggregate(
        n=Count("pk", filter=Q(satisfaction__in=content)), d=Count("pk")
    )
    return Ratio(counts["n"], counts["d"])


def satisfaction_weighted(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
    weight: Decimal | None = None,
) -> Ratio:
    """满意率 (weighted): (satisfied + w × basically satisfied) / evaluations recorded in P; w is
    the STATISTICS["basic_weight"] setting (0.9) unless given."""
    w = Decimal(str(settings.STATISTICS["basic_weight"])) if weight is None else weight
    counts = _evaluations(start=start, end=end, scope=_scope(place, handler, where)).aggregate(
        s=Count("pk", filter=Q(satisfaction=Satisfaction.SATISFIED)),
        b=Count("pk", filter=Q(satisfaction=Satisfaction.BASICALLY)),
        d=Count("pk"),
    )
    return Ratio(counts["s"] + w * counts["b"], counts["d"])


def participation(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """参评率: evaluations recorded in P / resolutions (resolve events) in P."""
    return _event_ratio(
        numerator=Action.EVALUATE,
        denominator=Action.RESOLVE,
        start=start,
        end=end,
        scope=_scope(place, handler, where),
    )


def solved_rate(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """解决率: evaluations in P answering "solved" / evaluations in P."""
    counts = _evaluations(start=start, end=end, scope=_scope(place, handler, where)).aggregate(
        n=Count("pk", filter=Q(solved=True)), d=Count("pk")
    )
    return Ratio(counts["n"], counts["d"])


def return_rate(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """退单率: return events in P / dispatch events in P. By handler: dispatches to the unit and
    returns by it (the event's unit)."""
    found = _events(start=start, end=end, scope=_scope(place, None, where))
    if handler is not None:
        found = found.filter(unit=handler)
    counts = found.aggregate(
        n=Count("pk", filter=Q(action=Action.RETURN)), d=Count("pk", filter=Q(action=Action.DISPATCH))
    )
    return Ratio(counts["n"], counts["d"])


def reopen_rate(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> Ratio:
    """重办率: reopen events in P / resolve events in P."""
    return _event_ratio(
        numerator=Action.REOPEN,
        denominator=Action.RESOLVE,
        start=start,
        end=end,
        scope=_scope(place, handler, where),
    )


def supervised(
    *,
    start: datetime,
    end: datetime,
    place: Unit | None = None,
    handler: Unit | None = None,
    where: Where = None,
) -> int:
    """督办: cases whose first supervise event (督办, by a supervisor or by the clock) is in P; a
    count, not a ratio. A case supervised again (催办) counts once, in the period it was first
    supervised in. By handler: the unit that first supervision was addressed to (the event's unit)."""
    first = Event.objects.filter(case=OuterRef("pk"), action=Action.SUPERVISE).order_by("seq")
    found = (
        _scope(place, None, where)
        .cases()
        .annotate(first_at=Subquery(first.values("at")[:1]), first_unit=Subquery(first.values("unit")[:1]))
        .filter(first_at__gte=start, first_at__lt=end)
    )
    if handler is not None:
        found = found.filter(first_unit=handler.pk)
    return found.count()


# Actions after which a case is no longer open: 办结 resolve, and the terminal ones.
_ENDS_OPEN = (Action.RESOLVE, Action.REJECT, Action.MERGE, Action.WITHDRAW, Action.CLOSE)


def overdue(
    *, end: datetime, place: Unit | None = None, handler: Unit | None = None, where: Where = None
) -> int:
    """超期: cases open past their resolution deadline at `end`; a count, not a ratio.

    Open at `end` means: resolve_by < end, and no resolve, reject, merge, withdraw or close event
    before `end`. Judged from the event log, so a past `end` gives the same figure whenever it is
    recomputed. Simplifications: resolve_by is the case's current deadline (as for 应办结), and a
    case resolved once before `end` is not counted even if it was reopened before `end` and is past
    its fresh deadline (any resolve event before `end` closes the question).
    """
    ended = Event.objects.filter(case=OuterRef("pk"), action__in=_ENDS_OPEN, at__lt=end)
    return _scope(place, handler, where).cases().filter(resolve_by__lt=end).filter(~Exists(ended)).count()
