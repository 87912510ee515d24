"""Reads behind the resident pages: a building by its QR token, the public card, the public timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case as Ranked
from django.db.models import IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_stubs_ext import StrOrPromise

from civicgrid.accounts.models import Post, Role, User
from civicgrid.cases.models import Attachment, Case, Event
from civicgrid.cases.selectors import case_by_tracking_code, is_rated, last_resolution_seq
from civicgrid.cases.states import Action, Status
from civicgrid.org.models import Building, Unit
from civicgrid.org.phones import normalise_phone

# Posts whose holders residents may call: their card (name, photo, phone, duties) is public (三公开).
CARD_ROLES = (Role.GRID_WORKER, Role.GRID_LEADER)

# What a resident reads for each status: plain words, not the staff's terms.
STATUS_WORDS: dict[str, StrOrPromise] = {
    Status.SUBMITTED: _("已收到，等待受理"),
    Status.ACCEPTED: _("已受理，正在安排办理单位"),
    Status.DISPATCHED: _("已交办理单位"),
    Status.IN_PROGRESS: _("正在办理"),
    Status.RESOLVED: _("已办结，请您评价"),
    Status.CLOSED: _("已办结"),
    Status.REJECTED: _("不予受理"),
    Status.MERGED: _("已与相同诉求合并办理"),
    Status.WITHDRAWN: _("已撤回"),
}

# Labels of past steps, in a context of their own: "受理" here is "Accepted", on a button "Accept".
# (Written out in full so makemessages finds every one.)
ACTION_LABELS: dict[str, StrOrPromise] = {
    Action.CREATE: pgettext_lazy("public timeline", "提交诉求"),
    Action.ACCEPT: pgettext_lazy("public timeline", "受理"),
    Action.REJECT: pgettext_lazy("public timeline", "不予受理"),
    Action.DISPATCH: pgettext_lazy("public timeline", "派单至办理单位"),
    Action.ACKNOWLEDGE: pgettext_lazy("public timeline", "办理单位签收"),
    Action.RETURN: pgettext_lazy("public timeline", "退回重新派单"),
    Action.REQUEST_EXTENSION: pgettext_lazy("public timeline", "申请延期"),
    Action.APPROVE_EXTENSION: pgettext_lazy("public timeline", "延期获批"),
    Action.DENY_EXTENSION: pgettext_lazy("public timeline", "延期未获批"),
    Action.ESCALATE: pgettext_lazy("public timeline", "提级办理"),
    Action.SUMMON: pgettext_lazy("public timeline", "协调相关部门"),
    Action.RESOLVE: pgettext_lazy("public timeline", "办结答复"),
    Action.EVALUATE: pgettext_lazy("public timeline", "群众评价"),
    Action.REOPEN: pgettext_lazy("public timeline", "重新办理"),
    Action.CLOSE: pgettext_lazy("public timeline", "归档"),
    Action.MERGE: pgettext_lazy("public timeline", "合并办理"),
    Action.WITHDRAW: pgettext_lazy("public timeline", "撤回"),
    Action.SUPERVISE: pgettext_lazy("public timeline", "督办"),
    Action.RATING_REQUEST: pgettext_lazy("public timeline", "邀请您评价办理结果"),
}
# The clock's own 督办 and escalation, said to a resident without the staff's terms.
AUTOMATIC_LABELS: dict[str, StrOrPromise] = {
    Action.SUPERVISE: pgettext_lazy("public timeline", "超期督办"),
    Action.ESCALATE: pgettext_lazy("public timeline", "超期提级办理"),
}
# The clock's working reminders to staff. They are recorded as internal events; the public page
# leaves them out by action too, so a mistake in one writer cannot show them to residents.
STAFF_ONLY_ACTIONS = frozenset(
    {Action.WARN, Action.RESPONSE_OVERDUE, Action.NOT_REPORTED, Action.REMIND, Action.CALLBACK_DUE}
)

# Only these notes are written for the reporter (the answer, the refusal); every other note is
# the staff's working text and may name people, so the public page leaves it out.
PUBLIC_NOTE_ACTIONS = frozenset({Action.RESOLVE, Action.REJECT})


@dataclass(frozen=True)
class WorkerCard:
    """A grid worker's public card: what a resident needs to reach them."""

    user_id: int
    name: str
    role: StrOrPromise
    phone: str
    tel: str  # digits only, for the tap-to-call link
    duties: str
    has_photo: bool


@dataclass(frozen=True)
class PublicStep:
    """One step of the public timeline: what happened, when, by which unit (never by whom)."""

    label: StrOrPromise
    at: datetime
    unit_name: str
    note: str
    photo_ids: list[int] = field(default_factory=list)


def building_by_token(*, token: str) -> Building | None:
    """The building a QR sign points at, with its grid and community (None when unknown or retired)."""
    return (
        Building.objects.filter(token=token, grid__active=True).select_related("grid", "grid__parent").first()
    )


def community_of(*, grid: Unit) -> Unit | None:
    parent = grid.parent
    return parent if parent is not None and parent.kind == Unit.Kind.COMMUNITY else None


def worker_cards(*, grid: Unit) -> list[WorkerCard]:
    """The grid's workers, then its leaders (of the grid or its community), each once."""
    here = Q(unit=grid, role__in=CARD_ROLES)
    if grid.parent_id is not None:
        here |= Q(unit_id=grid.parent_id, role=Role.GRID_LEADER)
    posts = (
        Post.objects.filter(here, active=True, user__is_active=True)
        .select_related("user")
        .annotate(
            rank=Ranked(
                When(role=Role.GRID_WORKER, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("rank", "user__display_name", "user_id")
    )
    cards: dict[int, WorkerCard] = {}
    for post in posts:
        user = post.user
        cards.setdefault(
            user.pk,
            WorkerCard(
                user_id=user.pk,
                name=str(user),
                role=post.get_role_display(),
                phone=user.phone,
                tel=normalise_phone(user.phone),
                duties=post.duties,
                has_photo=bool(user.photo),
            ),
        )
    return list(cards.values())


def public_photo_owner(*, user_id: int) -> User | None:
    """A user whose photo is public: one holding an active card post (never any other account)."""
    holds_card = Post.objects.filter(
        user_id=user_id, role__in=CARD_ROLES, active=True, unit__active=True
    ).exists()
    if not holds_card:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return user if user is not None and user.photo else None


def case_for_tracking(*, code: str) -> Case | None:
    """The case behind a tracking code, whatever its letter case."""
    return case_by_tracking_code(code=code)


def status_words(*, case: Case) -> StrOrPromise:
    if case.status == Status.RESOLVED and latest_resolution_rated(case=case):
        return _("已办结，您的评价已记录，正在复核")  # rated dissatisfied: kept open for review
    return STATUS_WORDS.get(case.status, case.get_status_display())


def awaiting_rating(*, case: Case) -> bool:
    """Resolved, and its latest resolution is not rated yet: the page asks the two questions."""
    if case.status != Status.RESOLVED:
        return False
    seq = last_resolution_seq(case=case)
    return seq is not None and not is_rated(case=case, resolution_seq=seq)


def latest_resolution_rated(*, case: Case) -> bool:
    seq = last_resolution_seq(case=case)
    return seq is not None and is_rated(case=case, resolution_seq=seq)


def _public_events(case: Case) -> list[Event]:
    shown = case.events.filter(public=True).exclude(action__in=[a.value for a in STAFF_ONLY_ACTIONS])
    return list(shown.select_related("unit").order_by("seq"))


def _public_label(event: Event) -> StrOrPromise:
    if event.actor_id is None and event.action in AUTOMATIC_LABELS:
        return AUTOMATIC_LABELS[event.action]
    return ACTION_LABELS.get(event.action, event.action)


def _photos_by_event(case: Case) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    rows = public_photos(case=case).order_by("pk").values_list("event_id", "pk")
    for event_id, pk in rows:
        if event_id is not None:
            found.setdefault(event_id, []).append(pk)
    return found


def public_timeline(*, case: Case) -> list[PublicStep]:
    """The steps a resident may see: public events, unit names only, reporter-facing notes only."""
    photos = _photos_by_event(case)
    return [
        PublicStep(
            label=_public_label(event),
            at=event.at,
            unit_name=event.unit.name if event.unit is not None else "",
            note=event.note if event.action in PUBLIC_NOTE_ACTIONS else "",
            photo_ids=photos.get(event.pk, []),
        )
        for event in _public_events(case)
    ]


def public_photos(*, case: Case) -> QuerySet[Attachment]:
    """Photos on the case's public events: the reporter's and the after-photos of a resolution."""
    return Attachment.objects.filter(case=case, event__public=True, kind=Attachment.Kind.PHOTO)


def public_photo(*, case: Case, attachment_id: int) -> Attachment | None:
    """One photo of `case` a resident may open (None for anything else, including other cases')."""
    return public_photos(case=case).filter(pk=attachment_id).first()
