"""Handling actions: dispatch, acknowledge, return, extensions, escalate, summon, resolve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.deadlines import extend_deadline
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, NotPermitted
from civicgrid.cases.models import (
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Case,
    ExtensionRequest,
    Supervision,
)
from civicgrid.cases.policy import ensure_allowed, escalation_target, pending_assignments_for
from civicgrid.cases.selectors import active_assignments, lead_assignment, pending_extension
from civicgrid.cases.services._core import lapse_pending_extensions, record, required
from civicgrid.cases.services.attachments import attachments_add, files_kept_only_on_success
from civicgrid.cases.services.deadlines import deadlines_from
from civicgrid.cases.states import Action, acknowledge_target, next_status
from civicgrid.cases.timers import replan_timers
from civicgrid.cases.uploads import CleanUpload
from civicgrid.org.models import Unit
from civicgrid.org.selectors import district_of

MAX_EXTENSION_DAYS = 30


def _assign(*, case: Case, unit: Unit, role: AssignmentRole) -> Assignment:
    moment = clock.now()
    respond_by, resolve_by = deadlines_from(item=case.item, start=moment)
    return Assignment.objects.create(
        case=case,
        unit=unit,
        role=role,
        dispatched_at=moment,
        respond_by=respond_by,
        resolve_by=case.resolve_by or resolve_by,
    )


def _respond_by(case: Case) -> datetime:
    """The response deadline a unit given the case now gets."""
    return deadlines_from(item=case.item, start=clock.now())[0]


def _check_units(*, case: Case, lead: Unit | None, assist: Sequence[Unit], field: str) -> None:
    seen = {lead.pk} if lead is not None else set()
    busy = {a.unit_id for a in active_assignments(case=case)}
    for unit in assist:
        if unit.pk in seen or unit.pk in busy:
            raise InvalidInput(field, _("同一单位不能重复派单：%(unit)s") % {"unit": unit.name})
        seen.add(unit.pk)


@transaction.atomic
def case_dispatch(
    *, case: Case, actor: User, lead: Unit, assist: Sequence[Unit] = (), note: str = ""
) -> Case:
    """Give the case to a lead unit (主办) and optional assisting units (协办)."""
    ensure_allowed(case=case, actor=actor, action=Action.DISPATCH)
    _check_units(case=case, lead=lead, assist=assist, field="assist")
    record(
        case=case,
        action=Action.DISPATCH,
        actor=actor,
        unit=lead,
        note=note,
        data={"lead": lead.code, "assist": [u.code for u in assist]},
        status=next_status(Action.DISPATCH, case.status),
        owner=lead,
        respond_by=_respond_by(case),
    )
    _assign(case=case, unit=lead, role=AssignmentRole.LEAD)
    for unit in assist:
        _assign(case=case, unit=unit, role=AssignmentRole.ASSIST)
    replan_timers(case=case)
    return case


@transaction.atomic
def case_acknowledge(*, case: Case, actor: User | None, unit: Unit | None = None) -> Case:
    """Record that a unit has the case (签收 = 报到); the lead's acknowledgement starts the work."""
    ensure_allowed(case=case, actor=actor, action=Action.ACKNOWLEDGE)
    waiting = pending_assignments_for(case=case, actor=actor)
    if unit is not None:
        waiting = [a for a in waiting if a.unit_id == unit.pk]
        if not waiting:
            raise NotPermitted(Action.ACKNOWLEDGE)
    assignment = sorted(waiting, key=lambda a: a.role != AssignmentRole.LEAD)[0]
    moment = clock.now()
    record(
        case=case,
        action=Action.ACKNOWLEDGE,
        actor=actor,
        unit=assignment.unit,
        data={"role": assignment.role, "late": moment > assignment.respond_by},
        status=acknowledge_target(case.status, lead=assignment.role == AssignmentRole.LEAD),
    )
    claimed = Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.PENDING).update(
        status=AssignmentStatus.ACKNOWLEDGED, acknowledged_at=moment
    )
    if claimed != 1:
        raise CaseChangedMeanwhile(case.number)
    replan_timers(case=case)
    return case


@transaction.atomic
def case_return(*, case: Case, actor: User, reason: str) -> Case:
    """The lead unit says "not ours" (退单); the case goes back to the command centre."""
    ensure_allowed(case=case, actor=actor, action=Action.RETURN)
    reason = required(reason, "reason")
    lead = lead_assignment(case=case)
    assert lead is not None  # ensure_allowed found the lead handler
    moment = clock.now()
    record(
        case=case,
        action=Action.RETURN,
        actor=actor,
        unit=lead.unit,
        note=reason,
        status=next_status(Action.RETURN, case.status),
        owner=district_of(unit=case.place),
        respond_by=None,
    )
    case.assignments.filter(pk=lead.pk).update(
        active=False, status=AssignmentStatus.RETURNED, ended_at=moment
    )
    case.assignments.filter(active=True).update(active=False, status=AssignmentStatus.ENDED, ended_at=moment)
    lapse_pending_extensions(case=case)
    replan_timers(case=case)
    return case


@transaction.atomic
def case_request_extension(*, case: Case, actor: User, days: int, reason: str) -> Case:
    """The lead unit asks for more working days (延期申请)."""
    ensure_allowed(case=case, actor=actor, action=Action.REQUEST_EXTENSION)
    reason = required(reason, "reason")
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise InvalidInput("days", _("延期天数须在 1 到 %(max)d 个工作日之间") % {"max": MAX_EXTENSION_DAYS})
    lead = lead_assignment(case=case)
    assert lead is not None
    record(
        case=case,
        action=Action.REQUEST_EXTENSION,
        actor=actor,
        unit=lead.unit,
        note=reason,
        data={"days": days},
        status=case.status,
    )
    ExtensionRequest.objects.create(
        case=case, unit=lead.unit, days=days, reason=reason, requested_at=clock.now()
    )
    replan_timers(case=case)
    return case


@transaction.atomic
def case_approve_extension(*, case: Case, actor: User, note: str = "") -> Case:
    """Grant the waiting extension: the resolution deadline moves by its working days."""
    ensure_allowed(case=case, actor=actor, action=Action.APPROVE_EXTENSION)
    request = pending_extension(case=case)
    assert request is not None
    assert case.resolve_by is not None
    new_deadline = extend_deadline(case.resolve_by, request.days)
    record(
        case=case,
        action=Action.APPROVE_EXTENSION,
        actor=actor,
        unit=request.unit,
        note=note,
        data={"days": request.days, "from": case.resolve_by.isoformat(), "to": new_deadline.isoformat()},
        resolve_by=new_deadline,
    )
    _decide(request, ExtensionRequest.Status.APPROVED)
    case.assignments.filter(active=True).update(resolve_by=new_deadline)
    replan_timers(case=case)
    return case


@transaction.atomic
def case_deny_extension(*, case: Case, actor: User, reason: str) -> Case:
    """Refuse the waiting extension; the deadline stays."""
    ensure_allowed(case=case, actor=actor, action=Action.DENY_EXTENSION)
    reason = required(reason, "reason")
    request = pending_extension(case=case)
    assert request is not None
    record(
        case=case,
        action=Action.DENY_EXTENSION,
        actor=actor,
        unit=request.unit,
        note=reason,
        data={"days": request.days},
    )
    _decide(request, ExtensionRequest.Status.DENIED)
    replan_timers(case=case)
    return case


def _decide(request: ExtensionRequest, outcome: str) -> None:
    decided = ExtensionRequest.objects.filter(pk=request.pk, status=ExtensionRequest.Status.PENDING).update(
        status=outcome, decided_at=clock.now()
    )
    if decided != 1:
        raise CaseChangedMeanwhile(request.case.number)


@transaction.atomic
def case_escalate(*, case: Case, actor: User | None, note: str = "", auto: bool = False) -> Case:
    """Hand the case to the area unit one level above its lead (提级); the new lead must report in.

    `auto`: the clock escalates a case left overdue, which turns its supervision red (红色督办).
    """
    ensure_allowed(case=case, actor=actor, action=Action.ESCALATE)
    target = escalation_target(case=case)
    lead = lead_assignment(case=case)
    assert target is not None and lead is not None
    data: dict[str, object] = {"from": lead.unit.code, "to": target.code}
    if auto:
        data = {"auto": True, "level": Supervision.RED.value, **data}
    record(
        case=case,
        action=Action.ESCALATE,
        actor=actor,
        unit=target,
        note=note,
        data=data,
        status=next_status(Action.ESCALATE, case.status),
        owner=target,
        respond_by=_respond_by(case),
        supervision=Supervision.RED if auto else case.supervision,
    )
    case.assignments.filter(pk=lead.pk).update(
        active=False, status=AssignmentStatus.ESCALATED, ended_at=clock.now()
    )
    lapse_pending_extensions(case=case)
    _assign(case=case, unit=target, role=AssignmentRole.LEAD)
    replan_timers(case=case)
    return case


@transaction.atomic
def case_summon(*, case: Case, actor: User, units: Sequence[Unit], note: str = "") -> Case:
    """吹哨: the leading area unit calls departments in as assisting units (部门报到)."""
    ensure_allowed(case=case, actor=actor, action=Action.SUMMON)
    if not units:
        raise InvalidInput("units", _("请至少选择一个部门"))
    for unit in units:
        if unit.kind != Unit.Kind.DEPARTMENT:
            raise InvalidInput("units", _("吹哨只能召集职能部门：%(unit)s") % {"unit": unit.name})
    _check_units(case=case, lead=None, assist=units, field="units")
    lead = lead_assignment(case=case)
    record(
        case=case,
        action=Action.SUMMON,
        actor=actor,
        unit=lead.unit if lead else None,
        note=note,
        data={"units": [u.code for u in units]},
    )
    for unit in units:
        _assign(case=case, unit=unit, role=AssignmentRole.ASSIST)
    replan_timers(case=case)
    return case


def case_resolve(*, case: Case, actor: User, result: str, attachments: Sequence[CleanUpload] = ()) -> Case:
    """Report the outcome (办结), with after-photos. From 'accepted' this is on-the-spot handling."""
    written: list[str] = []
    with files_kept_only_on_success(written), transaction.atomic():
        return _resolve(case=case, actor=actor, result=result, attachments=attachments, written=written)


def _resolve(
    *, case: Case, actor: User, result: str, attachments: Sequence[CleanUpload], written: list[str]
) -> Case:
    ensure_allowed(case=case, actor=actor, action=Action.RESOLVE)
    result = required(result, "result")
    moment = clock.now()
    on_the_spot = case.status == "accepted"
    lead = lead_assignment(case=case)
    unit = case.place if on_the_spot else (lead.unit if lead else None)
    event = record(
        case=case,
        action=Action.RESOLVE,
        actor=actor,
        unit=unit,
        note=result,
        data={"on_the_spot": on_the_spot},
        status=next_status(Action.RESOLVE, case.status),
        resolved_at=moment,
        owner=unit,
        # A new resolution starts a new rating round.
        callback_requested_at=None,
        review_requested_at=None,
    )
    if on_the_spot:
        # The grid held and finished it in one visit: record that as an acknowledged lead assignment.
        _assign(case=case, unit=case.place, role=AssignmentRole.LEAD)
    case.assignments.filter(active=True, role=AssignmentRole.ASSIST).update(
        active=False, status=AssignmentStatus.ENDED, ended_at=moment
    )
    finished: dict[str, object] = {"status": AssignmentStatus.RESOLVED, "ended_at": moment}
    if on_the_spot:
        finished["acknowledged_at"] = moment
    case.assignments.filter(active=True, role=AssignmentRole.LEAD).update(**finished)
    lapse_pending_extensions(case=case)
    attachments_add(case=case, event=event, actor=actor, uploads=attachments, written=written)
    replan_timers(case=case)
    return case
