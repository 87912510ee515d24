"""Reads behind the grid worker's phone pages: what needs me now, my reports, my grids and buildings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Exists, F, OuterRef, Prefetch, Q, Value, When
from django.db.models import Case as Ranked
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from civicgrid.accounts.models import User
from civicgrid.accounts.selectors import posts_of
from civicgrid.accounts.views import PHONE_ROLES
from civicgrid.cases.models import (
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Attachment,
    Case,
    Event,
    IdempotencyKey,
)
from civicgrid.cases.policy import allowed_actions
from civicgrid.cases.presenters import clock_step_label
from civicgrid.cases.reach import reach_of
from civicgrid.cases.selectors import case_is_overdue, case_timeline, cases_visible_to, overdue_q
from civicgrid.cases.states import Action, Status
from civicgrid.catalogue.models import Item
from civicgrid.catalogue.selectors import items_active
from civicgrid.org.models import Building, Unit

# The actions the phone pages offer; everything else a worker may do is on the console.
MOBILE_ACTIONS: tuple[str, ...] = (
    Action.ACKNOWLEDGE,
    Action.RESOLVE,
    Action.NOTE,
    Action.RETURN,
    Action.ESCALATE,
)

# Staff wording: the phone pages are for people who know the process.
ACTION_LABELS: dict[str, StrOrPromise] = {
    Action.CREATE: _("登记"),
    Action.ACCEPT: _("受理"),
    Action.REJECT: _("不予受理"),
    Action.DISPATCH: _("派单"),
    Action.ACKNOWLEDGE: _("签收"),
    Action.RETURN: _("退单"),
    Action.REQUEST_EXTENSION: _("申请延期"),
    Action.APPROVE_EXTENSION: _("批准延期"),
    Action.DENY_EXTENSION: _("驳回延期"),
    Action.ESCALATE: _("提级"),
    Action.SUMMON: _("吹哨"),
    Action.RESOLVE: _("办结"),
    Action.EVALUATE: _("评价"),
    Action.REOPEN: _("重办"),
    Action.CLOSE: _("归档"),
    Action.MERGE: _("合并"),
    Action.WITHDRAW: _("撤回"),
    Action.SUPERVISE: _("督办"),
    Action.NOTE: _("备注"),
}

# Each task's shortcuts cost a few queries (allowed_actions); the rest wait one tap away.
TASK_LIMIT = 30
RECENT_LIMIT = 10


def is_phone_user(*, user: User) -> bool:
    """Whether `user` holds a post whose work is done outdoors on a phone."""
    return any(post.role in PHONE_ROLES for post in posts_of(user=user))


def my_grids(*, user: User) -> list[Unit]:
    """The grids under the user's phone posts (a grid leader on a community has all its grids)."""
    paths = [post.unit.path for post in posts_of(user=user) if post.role in PHONE_ROLES]
    if not paths:
        return []
    under = Q()
    for path in paths:
        under |= Q(path__startswith=path)
    return list(Unit.objects.filter(under, kind=Unit.Kind.GRID, active=True).order_by("path"))


def buildings_in(*, grids: list[Unit]) -> list[Building]:
    return list(Building.objects.filter(grid__in=grids).select_related("grid").order_by("grid__path", "code"))


def grids_worked(*, user: User) -> frozenset[int]:
    """Grids where the user may handle a small thing on the spot (the grid worker's capacity)."""
    return reach_of(user).worked_grid_ids


def catalogue_items() -> list[Item]:
    return list(items_active().order_by("domain__order", "domain__code", "code"))


@dataclass(frozen=True)
class Task:
    """One case waiting for the worker, with what they may do about it from the phone."""

    case: Case
    overdue: bool
    actions: list[str]

    @property
    def shortcuts(self) -> list[tuple[str, StrOrPromise]]:
        return [(action, ACTION_LABELS[action]) for action in self.actions]


def _waiting_for(user: User) -> Q:
    """Assignments of my units waiting to be acknowledged, work my unit leads, small things on the spot."""
    reach = reach_of(user)
    waiting = Q(pk__in=[])
    if reach.handled_unit_ids:
        mine = Assignment.objects.filter(case=OuterRef("pk"), active=True, unit_id__in=reach.handled_unit_ids)
        waiting |= Q(Exists(mine.filter(status=AssignmentStatus.PENDING)))
        leading = mine.filter(role=AssignmentRole.LEAD, status=AssignmentStatus.ACKNOWLEDGED)
        waiting |= Q(status=Status.IN_PROGRESS) & Q(Exists(leading))
    if reach.worked_grid_ids:
        waiting |= Q(status=Status.ACCEPTED, place_id__in=reach.worked_grid_ids)
    return waiting


@dataclass(frozen=True)
class Agenda:
    """The most urgent waiting cases, and how many wait in all."""

    tasks: list[Task]
    total: int


def needs_me_now(*, user: User, now: datetime) -> Agenda:
    """Cases waiting for the worker's action, overdue first, then by resolution deadline."""
    late = Ranked(
        When(overdue_q(now=now), then=Value(True)), default=Value(False), output_field=BooleanField()
    )
    active = Assignment.objects.filter(active=True).select_related("unit")
    waiting = cases_visible_to(user=user).filter(_waiting_for(user))
    cases = (
        waiting.annotate(late=late)
        .order_by("-late", F("resolve_by").asc(nulls_last=True), "created_at", "id")
        .select_related("item", "place", "building")
        .prefetch_related(Prefetch("assignments", queryset=active, to_attr="active_assignments"))
    )[:TASK_LIMIT]
    tasks = [_task(case, user, now) for case in cases]
    return Agenda(tasks=tasks, total=len(tasks) if len(tasks) < TASK_LIMIT else waiting.count())


def _task(case: Case, user: User, now: datetime) -> Task:
    current: list[Assignment] = getattr(case, "active_assignments", [])
    allowed = allowed_actions(case=case, user=user, assignments=current)
    return Task(
        case=case,
        overdue=case_is_overdue(case=case, now=now),
        actions=[a for a in MOBILE_ACTIONS if a in allowed],
    )


def my_recent_reports(*, user: User) -> list[Case]:
    """What the worker reported, newest first."""
    return list(
        cases_visible_to(user=user)
        .filter(created_by=user)
        .select_related("place", "building")
        .order_by("-created_at", "-id")[:RECENT_LIMIT]
    )


def attachment_visible(*, user: User, pk: int) -> Attachment | None:
    """An attachment of a case the user may see (None otherwise: "not found", never "forbidden")."""
    return Attachment.objects.filter(pk=pk, case__in=cases_visible_to(user=user)).first()


@dataclass(frozen=True)
class Step:
    """One event of the timeline with its files and a staff label."""

    event: Event
    label: StrOrPromise
    photos: list[Attachment]
    voices: list[Attachment]


def case_steps(*, case: Case) -> list[Step]:
    """The whole timeline (internal notes included: only staff reach these pages) with its files."""
    files: dict[int | None, list[Attachment]] = {}
    for attachment in case.attachments.order_by("id"):
        files.setdefault(attachment.event_id, []).append(attachment)
    return [
        Step(
            event=event,
            label=clock_step_label(event) or ACTION_LABELS.get(event.action, event.action),
            photos=[a for a in files.get(event.pk, []) if a.kind == Attachment.Kind.PHOTO],
            voices=[a for a in files.get(event.pk, []) if a.kind == Attachment.Kind.VOICE],
        )
        for event in case_timeline(case=case)
    ]


def case_of_draft(*, user: User, key: str) -> Case | None:
    """The case an earlier upload of this draft created, if the user may still see it."""
    remembered = IdempotencyKey.objects.filter(user=user, key=key).values_list("case_id", flat=True)
    return cases_visible_to(user=user).filter(pk__in=remembered).first()
