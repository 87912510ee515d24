"""How a case is shown to one user: reporter privacy and the API shapes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from civicgrid.accounts.models import User
from civicgrid.cases.models import Assignment, Case, Event
from civicgrid.cases.policy import allowed_actions, capacities
from civicgrid.cases.schemas import AssignmentOut, CaseOut, CaseSummary, EventOut, ExclusionOut, ReporterOut
from civicgrid.cases.selectors import case_assignments, case_is_overdue, case_timeline, pending_exclusion
from civicgrid.cases.states import Action, Capacity
from civicgrid.org.phones import mask_phone

# What the staff timelines (console, phone) call the steps the clock takes by itself.
CLOCK_STEP_LABELS: dict[str, StrOrPromise] = {
    Action.WARN: _("预警"),
    Action.RESPONSE_OVERDUE: _("超时未签收"),
    Action.NOT_REPORTED: _("未报到"),
    Action.REMIND: _("延期审批提醒"),
    Action.RATING_REQUEST: _("邀请评价"),
    Action.CALLBACK_DUE: _("转入回访"),
}
WARNING_LABELS: dict[str, StrOrPromise] = {"response": _("响应预警"), "resolution": _("办结预警")}
# Supervision and escalation are also people's actions; taken by the clock they say so.
AUTOMATIC_LABELS: dict[str, StrOrPromise] = {
    Action.SUPERVISE: _("系统自动督办"),
    Action.ESCALATE: _("超期自动提级"),
}


def is_system_step(event: Event) -> bool:
    """Whether the clock took this step by itself (a resident's report or rating has no actor either)."""
    if event.action in CLOCK_STEP_LABELS:
        return True
    return event.action in AUTOMATIC_LABELS and event.actor_id is None


def sees_reporter_in_full(*, case: Case, user: User, caps: frozenset[Capacity]) -> bool:
    """The command centre and the first receiver need the full number to call back; nobody else."""
    return Capacity.CENTRE in caps or (
        case.first_receiver_id is not None and case.first_receiver_id == user.pk
    )


def reporter_for(*, case: Case, user: User, caps: frozenset[Capacity]) -> ReporterOut:
    """Name and phone as this user may see them: full, masked, or withheld (举报 / confidential)."""
    full = sees_reporter_in_full(case=case, user=user, caps=caps) or Capacity.CREATOR in caps
    flags = {"anonymous": case.reporter_anonymous, "confidential": case.reporter_confidential}
    if full:
        return ReporterOut(name=case.reporter_name, phone=case.reporter_phone, **flags)
    if case.reporter_confidential:
        return ReporterOut(name=None, phone=None, **flags)
    return ReporterOut(name=case.reporter_name, phone=mask_phone(case.reporter_phone), **flags)


def clock_step_label(event: Event) -> StrOrPromise | None:
    """The staff label of a step the clock took (a warning, an automatic 督办…); None for the rest."""
    if event.action == Action.WARN:
        return WARNING_LABELS.get((event.data or {}).get("rule", ""), CLOCK_STEP_LABELS[Action.WARN])
    if event.action in AUTOMATIC_LABELS:
        return AUTOMATIC_LABELS[event.action] if is_system_step(event) else None
    return CLOCK_STEP_LABELS.get(event.action)


def case_summary(case: Case) -> CaseSummary:
    return CaseSummary(
        number=case.number,
        status=case.status,
        kind=case.kind,
        title=case.title,
        item=case.item.code if case.item else None,
        grid=case.place.code,
        owner=case.owner.code if case.owner else None,
        channel=case.channel,
        proactive=case.proactive,
        created_at=case.created_at,
        respond_by=case.respond_by,
        resolve_by=case.resolve_by,
        overdue=case_is_overdue(case=case),
        supervised=case.supervised_at is not None,
        excluded=case.excluded_at is not None,
    )


def pending_exclusion_out(case: Case) -> ExclusionOut | None:
    """The exclusion request waiting on the case (no query when none waits)."""
    request = pending_exclusion(case=case)
    if request is None:
        return None
    return ExclusionOut(
        id=request.pk,
        unit=request.unit.code,
        unit_name=request.unit.name,
        reason=request.reason,
        note=request.note,
        requested_at=request.requested_at,
    )


def event_out(event: Event) -> EventOut:
    return EventOut(
        seq=event.seq,
        action=event.action,
        actor=str(event.actor) if event.actor else None,
        unit=event.unit.code if event.unit else None,
        from_status=event.from_status,
        to_status=event.to_status,
        at=event.at,
        note=event.note,
    )


def case_detail(
    *,
    case: Case,
    user: User,
    show_tracking_code: bool = False,
    assignments: list[Assignment] | None = None,
    timeline: list[Event] | None = None,
) -> CaseOut:
    """The whole case for `user`: assignments, deadlines, their allowed actions and the timeline
    (both read from the database unless the caller already holds them)."""
    if assignments is None:
        assignments = case_assignments(case=case)
    current = [a for a in assignments if a.active]
    caps = capacities(case=case, user=user, assignments=current)
    summary = case_summary(case).model_dump()
    return CaseOut(
        **summary,
        tracking_code=case.tracking_code if show_tracking_code or Capacity.CREATOR in caps else None,
        description=case.description,
        building=case.building.code if case.building else None,
        address=case.address,
        lat=case.lat,
        lon=case.lon,
        reporter=reporter_for(case=case, user=user, caps=caps),
        assignments=[
            AssignmentOut(
                unit=a.unit.code,
                unit_name=a.unit.name,
                role=a.role,
                status=a.status,
                respond_by=a.respond_by,
                resolve_by=a.resolve_by,
                acknowledged_at=a.acknowledged_at,
            )
            for a in assignments
        ],
        allowed_actions=allowed_actions(case=case, user=user, assignments=current, caps=caps),
        events=[event_out(e) for e in (case_timeline(case=case) if timeline is None else timeline)],
        excluded_at=case.excluded_at,
        pending_exclusion=pending_exclusion_out(case),
    )


def new_case_detail(*, event: Event, user: User) -> CaseOut:
    """The case intake has just registered, for its creator, from what intake holds: a new case has
    no assignment yet and its 'create' event is its whole timeline, so nothing is read back."""
    return case_detail(case=event.case, user=user, show_tracking_code=True, assignments=[], timeline=[event])
