"""Every shared read of cases; jurisdiction scoping is written once, here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.models import Assignment, Case, Evaluation, Event, ExclusionRequest, ExtensionRequest
from civicgrid.cases.reach import Reach, reach_of
from civicgrid.cases.states import OPEN, Status
from civicgrid.org.models import Unit


def _seeing_paths(reach: Reach) -> set[str]:
    return {*reach.centre_paths, *reach.supervisor_paths, *reach.leader_paths, *reach.area_paths}


def cases_visible_to(*, user: User) -> QuerySet[Case]:
    """The cases `user` may see: the areas their posts cover, what their units were given, what they filed."""
    reach = reach_of(user)
    scope = Q(created_by_id=reach.user_id) if reach.user_id else Q(pk__in=[])
    for path in _seeing_paths(reach):
        scope |= Q(place__path__startswith=path)
    if reach.handled_unit_ids:
        given = Assignment.objects.filter(case=OuterRef("pk"), unit_id__in=reach.handled_unit_ids)
        scope |= Q(Exists(given))
    return Case.objects.filter(scope)


def case_seen_by(*, case: Case, user: User) -> bool:
    """The same rule as cases_visible_to, for one case already in hand."""
    reach = reach_of(user)
    if reach.user_id and case.created_by_id == reach.user_id:
        return True
    if reach.covers(tuple(_seeing_paths(reach)), case.place.path):
        return True
    return (
        bool(reach.handled_unit_ids) and case.assignments.filter(unit_id__in=reach.handled_unit_ids).exists()
    )


def case_visible(*, user: User, number: str) -> Case | None:
    """One case by number if `user` may see it (None otherwise: "not found", never "forbidden")."""
    return (
        cases_visible_to(user=user)
        .filter(number=number)
        .select_related("item", "item__domain", "place", "owner", "building")
        .first()
    )


def case_by_number(*, number: str) -> Case | None:
    """Unscoped lookup, for the system and for merge targets already checked by the caller."""
    return Case.objects.filter(number=number).select_related("item", "place", "owner").first()


def case_by_tracking_code(*, code: str) -> Case | None:
    return (
        Case.objects.filter(tracking_code=code.strip().upper())
        .select_related("item", "place", "owner")
        .first()
    )


def case_timeline(*, case: Case) -> QuerySet[Event]:
    return case.events.select_related("actor", "unit").order_by("seq")


def case_assignments(*, case: Case) -> list[Assignment]:
    return list(case.assignments.select_related("unit").order_by("dispatched_at", "id"))


def active_assignments(*, case: Case) -> list[Assignment]:
    return [a for a in case_assignments(case=case) if a.active]


def lead_assignment(*, case: Case) -> Assignment | None:
    return case.assignments.filter(active=True, role="lead").select_related("unit").first()


def pending_extension(*, case: Case) -> ExtensionRequest | None:
    return case.extension_requests.filter(status=ExtensionRequest.Status.PENDING).first()


def pending_exclusion(*, case: Case) -> ExclusionRequest | None:
    """The exclusion request waiting for a supervisor (no query when the case says none waits)."""
    if case.exclusion_requested_at is None:
        return None
    return (
        case.exclusion_requests.filter(status=ExclusionRequest.Status.PENDING).select_related("unit").first()
    )


def exclusion_of(*, case: Case, pk: int) -> ExclusionRequest | None:
    """One of the case's exclusion requests by id (None when it belongs to another case)."""
    return case.exclusion_requests.filter(pk=pk).select_related("unit").first()


def exclusion_requests_made(*, case: Case) -> int:
    return case.exclusion_requests.count()


def _moment(day: date | datetime) -> datetime:
    """A period bound: a datetime as given, a date as its local midnight."""
    if isinstance(day, datetime):
        return day
    return timezone.make_aware(datetime.combine(day, time.min))


def approved_exclusions(
    *, start: date | datetime, end: date | datetime, place: Unit | None
) -> QuerySet[ExclusionRequest]:
    """Exclusions approved in [start, end) for cases located in `place`'s subtree (everywhere when None),
    in the order they were decided: the bulletin's list (served by exclusion_decided_idx)."""
    found = ExclusionRequest.objects.filter(
        status=ExclusionRequest.Status.APPROVED, decided_at__gte=_moment(start), decided_at__lt=_moment(end)
    )
    if place is not None:
        found = found.filter(case__place__path__startswith=place.path)
    return found.select_related(
        "case", "case__place", "case__item", "unit", "requested_by", "decided_by"
    ).order_by("decided_at", "id")


def last_resolution_seq(*, case: Case) -> int | None:
    """The seq of the resolve event that an evaluation would rate now."""
    return case.events.filter(action="resolve").order_by("-seq").values_list("seq", flat=True).first()


def is_rated(*, case: Case, resolution_seq: int) -> bool:
    return Evaluation.objects.filter(case=case, resolution_seq=resolution_seq).exists()


def case_is_overdue(*, case: Case, now: datetime | None = None) -> bool:
    """Overdue is derived: an open case past its resolution deadline (never a stored flag)."""
    if case.resolve_by is None or case.status not in OPEN or case.status == Status.RESOLVED:
        return False
    return (now or clock.now()) > case.resolve_by


def overdue_q(*, now: datetime) -> Q:
    """The same rule as case_is_overdue, as a filter (served by case_status_due_idx)."""
    unfinished = [Status.SUBMITTED, Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS]
    return Q(status__in=unfinished, resolve_by__lt=now)


@dataclass(frozen=True)
class CaseFilters:
    """The list filters of GET /api/v1/cases."""

    status: list[str] | None = None
    owner: Unit | None = None
    place: Unit | None = None
    item_code: str | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def cases_filtered(*, user: User, filters: CaseFilters) -> QuerySet[Case]:
    """Visible cases narrowed by the list filters, newest first."""
    qs = cases_visible_to(user=user)
    if filters.status:
        qs = qs.filter(status__in=filters.status)
    if filters.owner is not None:
        qs = qs.filter(owner=filters.owner)
    if filters.place is not None:
        qs = qs.filter(place__path__startswith=filters.place.path)
    if filters.item_code:
        qs = qs.filter(item__code=filters.item_code)
    if filters.overdue is not None:
        late = overdue_q(now=clock.now())
        qs = qs.filter(late) if filters.overdue else qs.exclude(late)
    if filters.created_from is not None:
        qs = qs.filter(created_at__gte=filters.created_from)
    if filters.created_to is not None:
        qs = qs.filter(created_at__lt=filters.created_to)
    return qs.order_by("-created_at", "-id")
