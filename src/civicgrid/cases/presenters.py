"""How a case is shown to one user: reporter privacy and the API shapes."""

from __future__ import annotations

from civicgrid.accounts.models import User
from civicgrid.cases.models import Case, Event
from civicgrid.cases.policy import allowed_actions, capacities
from civicgrid.cases.schemas import AssignmentOut, CaseOut, CaseSummary, EventOut, ReporterOut
from civicgrid.cases.selectors import case_assignments, case_is_overdue, case_timeline
from civicgrid.cases.states import Capacity
from civicgrid.org.phones import mask_phone


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


def case_detail(*, case: Case, user: User, show_tracking_code: bool = False) -> CaseOut:
    """The whole case for `user`: assignments, deadlines, their allowed actions and the timeline."""
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
        events=[event_out(e) for e in case_timeline(case=case)],
    )
