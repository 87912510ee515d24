"""Reads of the staff console: its queues (counted in one query), search, inbox, caller history, pickers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from civicgrid.accounts.models import User
from civicgrid.cases.models import (
    Assignment,
    AssignmentStatus,
    Attachment,
    Case,
    Evaluation,
    Event,
    ExtensionRequest,
)
from civicgrid.cases.reach import reach_of
from civicgrid.cases.selectors import cases_visible_to, overdue_q
from civicgrid.cases.states import OPEN, Action, Status
from civicgrid.org.models import Building, Unit
from civicgrid.org.phones import normalise_phone

PAGE_SIZE = 50
HISTORY_LIMIT = 20
BUILDING_MATCHES = 20
# A shorter run of digits is more likely part of a case number or a text than a phone number.
MIN_PHONE_DIGITS = 7
ALL = "all"


@dataclass(frozen=True)
class Queue:
    key: str
    label: StrOrPromise


QUEUES: tuple[Queue, ...] = (
    Queue("dispatch", _("待派单")),
    Queue("acknowledge", _("待签收")),
    Queue("in_progress", _("办理中")),
    Queue("overdue", _("已超期")),
    Queue("returned", _("被退回")),
    Queue("unreported", _("未报到")),
    Queue("callback", _("回访")),
    Queue("extensions", _("延期申请")),
    Queue("review", _("重办审核")),
    Queue("exclusions", _("考核剔除")),
    Queue("supervised", _("督办")),
)


def _prefixed(field: str, paths: tuple[str, ...]) -> Q | None:
    """Rows whose `field` (a unit path) lies under any of `paths`; None when there are none."""
    if not paths:
        return None
    found = Q(**{f"{field}__startswith": paths[0]})
    for path in paths[1:]:
        found |= Q(**{f"{field}__startswith": path})
    return found


def _under(paths: tuple[str, ...]) -> Q | None:
    """Cases placed under any of `paths` (None when the user holds no such post)."""
    return _prefixed("place__path", paths)


def _given_to(unit_ids: frozenset[int], **assignment: object) -> Q:
    """Cases with an active assignment of one of `unit_ids` matching `assignment`."""
    rows = Assignment.objects.filter(case=OuterRef("pk"), active=True, unit_id__in=unit_ids, **assignment)
    return Q(Exists(rows))


def _unreported() -> Q:
    """Cases whose unit never reported in: the clock flagged an assignment still waiting (未报到)."""
    silent = Assignment.objects.filter(
        case=OuterRef("pk"), active=True, status=AssignmentStatus.PENDING, unreported_at__isnull=False
    )
    return Q(Exists(silent))


def _latest_resolution_rated() -> Q:
    """The resolution an evaluation would rate now (the case's last resolve event) has a rating."""
    latest = Event.objects.filter(case=OuterRef(OuterRef("pk")), action=Action.RESOLVE.value).order_by("-seq")
    rated = Evaluation.objects.filter(case=OuterRef("pk"), resolution_seq=Subquery(latest.values("seq")[:1]))
    return Q(Exists(rated))


def _flagged_since_resolution(field: str) -> Q:
    """`field` is set and no older than the latest resolution: after a reopen and a new resolution,
    a flag nobody cleared speaks of the earlier one (a resolution without a time counts it as set)."""
    newer = Q(resolved_at__isnull=True) | Q(**{f"{field}__gte": F("resolved_at")})
    return Q(**{f"{field}__isnull": False}) & newer


def _awaiting_callback() -> Q:
    """回访: resolved, unrated for too long (the clock set the flag), and still unrated."""
    flagged = _flagged_since_resolution("callback_requested_at")
    return Q(status=Status.RESOLVED) & flagged & ~_latest_resolution_rated()


def _awaiting_review() -> Q:
    """重办审核: resolved and rated dissatisfied; the supervisor reopens or closes it."""
    return Q(status=Status.RESOLVED) & _flagged_since_resolution("review_requested_at")


def _awaiting_exclusion() -> Q:
    """考核剔除: a unit's request to exclude the case from the figures waits (closed cases too)."""
    return Q(exclusion_requested_at__isnull=False)


def queue_rules(*, user: User, now: datetime) -> dict[str, Q]:
    """Each queue the user works, as a filter over their visible cases, in tab order.

    Queues that belong to a post the user does not hold (dispatcher, supervisor, unit staff) are
    left out, so a handler never sees an always-empty "to dispatch" tab.
    """
    reach = reach_of(user)
    centre = _under(reach.centre_paths)
    supervising = _under(reach.supervisor_paths)
    units = reach.handled_unit_ids
    rules: dict[str, Q | None] = {
        "dispatch": centre & Q(status__in=[Status.SUBMITTED, Status.ACCEPTED]) if centre else None,
        "acknowledge": _given_to(units, status=AssignmentStatus.PENDING) if units else None,
        "in_progress": (
            _given_to(units, role="lead", status=AssignmentStatus.ACKNOWLEDGED) if units else None
        ),
        "overdue": overdue_q(now=now),
        "returned": (
            centre
            & Q(status=Status.ACCEPTED)
            & Q(Exists(Assignment.objects.filter(case=OuterRef("pk"), status=AssignmentStatus.RETURNED)))
            if centre
            else None
        ),
        "unreported": centre & _unreported() if centre else None,
        "callback": centre & _awaiting_callback() if centre else None,
        "extensions": (
            supervising
            & Q(
                Exists(
                    ExtensionRequest.objects.filter(
                        case=OuterRef("pk"), status=ExtensionRequest.Status.PENDING
                    )
                )
            )
            if supervising
            else None
        ),
        "review": supervising & _awaiting_review() if supervising else None,
        "exclusions": supervising & _awaiting_exclusion() if supervising else None,
        "supervised": Q(supervised_at__isnull=False, status__in=OPEN),
    }
    return {key: rule for key, rule in rules.items() if rule is not None}


def queue_counts(*, user: User, now: datetime) -> dict[str, int]:
    """How many cases wait in each of the user's queues: one aggregate query, whatever the numbers.

    Every queue holds open cases only, so the count reads the open cases, not the whole archive;
    the exclusion requests, which mostly concern closed cases, are found by their flag's index.
    """
    rules = queue_rules(user=user, now=now)
    read = Q(status__in=OPEN) | _awaiting_exclusion() if "exclusions" in rules else Q(status__in=OPEN)
    counted = (
        cases_visible_to(user=user)
        .filter(read)
        .aggregate(**{key: Count("pk", filter=rule) for key, rule in rules.items()})
    )
    return {key: int(counted[key] or 0) for key in rules}


@dataclass(frozen=True)
class ConsoleFilters:
    """The filters above a queue: all optional; `search` is a number, a caller's phone or text."""

    status: str = ""
    item_code: str = ""
    domain_code: str = ""
    place: Unit | None = None
    channel: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str = ""


def _search_q(*, user: User, text: str) -> Q:
    """A number prefix or title/description text; a phone number only for the command centre.

    Only the command centre sees reporters' numbers in full, so only its search may match them,
    and only over the area it serves: others could otherwise find a confidential reporter's cases.
    """
    found = Q(number__startswith=text) | Q(title__icontains=text) | Q(description__icontains=text)
    centre = _under(reach_of(user).centre_paths)
    phone = normalise_phone(text)
    if centre is not None and len(phone) >= MIN_PHONE_DIGITS:
        found |= centre & Q(reporter_phone=phone)
    return found


def queue_cases(*, user: User, key: str, filters: ConsoleFilters, now: datetime) -> QuerySet[Case]:
    """The visible cases of one queue (or all of them), narrowed by the filters, newest first."""
    qs = cases_visible_to(user=user)
    if key != ALL:
        qs = qs.filter(queue_rules(user=user, now=now)[key])
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.item_code:
        qs = qs.filter(item__code=filters.item_code)
    if filters.domain_code:
        qs = qs.filter(item__domain__code=filters.domain_code)
    if filters.place is not None:
        qs = qs.filter(place__path__startswith=filters.place.path)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.created_from is not None:
        qs = qs.filter(created_at__gte=filters.created_from)
    if filters.created_to is not None:
        qs = qs.filter(created_at__lt=filters.created_to)
    if filters.search.strip():
        qs = qs.filter(_search_q(user=user, text=filters.search.strip()))
    return qs.select_related("item", "place", "owner").order_by("-created_at", "-id")


def is_dispatcher(*, user: User) -> bool:
    """Whether the user works in a command centre (hotline entry, callers' history)."""
    return bool(reach_of(user).centre_paths)


def caller_history(*, user: User, phone: str) -> list[Case]:
    """The caller's earlier cases (same normalised phone) in the command centre's area, newest first."""
    centre = _under(reach_of(user).centre_paths)
    number = normalise_phone(phone)
    if centre is None or len(number) < MIN_PHONE_DIGITS:
        return []
    return list(
        cases_visible_to(user=user)
        .filter(centre, reporter_phone=number)
        .select_related("item", "place", "owner")
        .order_by("-created_at", "-id")[:HISTORY_LIMIT]
    )


def inbox_assignments(*, user: User) -> QuerySet[Assignment]:
    """What was given to the user's units and is not finished: waiting for 签收 or being handled."""
    units = reach_of(user).handled_unit_ids
    return (
        Assignment.objects.filter(
            unit_id__in=units,
            active=True,
            status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACKNOWLEDGED],
            case__in=cases_visible_to(user=user),
        )
        .select_related("case", "case__place", "unit")
        .order_by("-dispatched_at", "-id")
    )


def inbox_count(*, user: User) -> int:
    """The number in the top bar; no query for people who hold no handling post."""
    if not reach_of(user).handled_unit_ids:
        return 0
    return inbox_assignments(user=user).count()


def units_under(*, paths: tuple[str, ...]) -> list[Unit]:
    """Active units of the given subtrees in tree order: what the console's unit pickers offer."""
    scope = _prefixed("path", paths)
    return [] if scope is None else list(Unit.objects.filter(scope, active=True).order_by("path"))


def centre_units(*, user: User) -> list[Unit]:
    return units_under(paths=reach_of(user).centre_paths)


def buildings_matching(*, user: User, text: str) -> list[Building]:
    """Buildings of the command centre's area whose code, name or address contains `text`."""
    scope = _prefixed("grid__path", reach_of(user).centre_paths)
    text = text.strip()
    if scope is None or not text:
        return []
    match = Q(code__icontains=text) | Q(name__icontains=text) | Q(address__icontains=text)
    return list(
        Building.objects.filter(scope, match, grid__active=True)
        .select_related("grid")
        .order_by("code")[:BUILDING_MATCHES]
    )


def building_by_code(*, user: User, code: str) -> Building | None:
    """A building of the command centre's area by its exact code."""
    scope = _prefixed("grid__path", reach_of(user).centre_paths)
    if scope is None:
        return None
    return Building.objects.filter(scope, code=code, grid__active=True).select_related("grid").first()


def case_attachments(*, case: Case) -> list[Attachment]:
    """A case's files in upload order (the page groups them by the event they came with)."""
    return list(case.attachments.order_by("created_at", "id"))


def attachment_visible(*, user: User, pk: int) -> Attachment | None:
    """One file, only when its case is visible to `user` (scoping never reveals that it exists)."""
    return Attachment.objects.filter(pk=pk, case__in=cases_visible_to(user=user)).first()
