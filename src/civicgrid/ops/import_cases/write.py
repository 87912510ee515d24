"""Writing planned cases in batches: the case rows, their real numbers, events, assignment, evaluation.

The caller holds one transaction for the whole file. Events are written directly, not through the
case services: no notification is sent for history and no timer is planned (the clock takes open
imported cases over with `civicgrid replan`). Statistics are told through the rollups' stale marker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from civicgrid.cases.models import (
    Assignment,
    AssignmentRole,
    Case,
    Evaluation,
    Event,
    Kind,
    new_tracking_code,
)
from civicgrid.cases.services._core import next_case_number, provisional_number
from civicgrid.cases.states import Action
from civicgrid.ops.import_cases.plan import Plan
from civicgrid.ops.import_cases.rows import CaseRow
from civicgrid.ops.imports.rows import chunked
from civicgrid.ops.models import ImportedCase

BATCH = 500


def write_all(
    rows: Sequence[tuple[CaseRow, Plan]],
    *,
    source: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Write every planned row, oldest first, so each day's numbers follow the order cases came in."""
    ordered = sorted(rows, key=lambda pair: (pair[1].steps[0].at, pair[0].number))
    written: list[int] = []
    for batch in chunked(ordered, BATCH):
        written += write_batch(batch, source=source, now=now)
        if progress is not None:
            progress(len(written))
    return written


def write_batch(batch: list[tuple[CaseRow, Plan]], *, source: str, now: datetime) -> list[int]:
    """Write one batch and mark its cases stale for the rollups, in the caller's transaction."""
    # Looked up at each call, so a test (or the lead's wiring) can stand in for it.
    from civicgrid.analytics.rollups import mark_stale

    cases = Case.objects.bulk_create([_case(row, plan) for row, plan in batch])
    for case in cases:
        # The case's real number, from the day counter of the day it came in (as intake gives it).
        next_case_number(case=case, day=case.created_at)
    events = Event.objects.bulk_create(
        event
        for case, (_row, plan) in zip(cases, batch, strict=True)
        for event in _events(case, plan, source)
    )
    _assignments(cases, batch)
    _evaluations(cases, batch, events)
    ImportedCase.objects.bulk_create(
        ImportedCase(
            source=source,
            external_id=row.external_id,
            case=case,
            fingerprint=row.fingerprint,
            imported_at=now,
        )
        for case, (row, _plan) in zip(cases, batch, strict=True)
    )
    ids = [case.pk for case in cases]
    mark_stale(ids)
    return ids


def _case(row: CaseRow, plan: Plan) -> Case:
    tracking_code = new_tracking_code()
    return Case(
        number=provisional_number(tracking_code),
        tracking_code=tracking_code,
        kind=row.kind,
        title=row.title,
        description=row.description,
        item=row.item,
        place=row.place,
        address=row.address,
        channel=row.channel,
        proactive=row.proactive,
        reporter_name=row.reporter_name,
        reporter_phone=row.reporter_phone,
        # As intake: whistle-blowing (举报) always hides the reporter from handling units.
        reporter_confidential=row.confidential or row.kind == Kind.REPORT,
        created_at=plan.steps[0].at,
        version=len(plan.steps),
        last_seq=len(plan.steps),
        **plan.case,
    )


def _events(case: Case, plan: Plan, source: str) -> list[Event]:
    """One event per step, numbered from 1, each from the status the step before left."""
    events, before = [], ""
    for seq, step in enumerate(plan.steps, start=1):
        events.append(
            Event(
                case=case,
                seq=seq,
                action=step.action.value,
                actor=None,  # the previous system's users are not accounts here
                unit=step.unit,
                from_status=before,
                to_status=step.status,
                note=step.note,
                data={**step.data, "imported": source},
                at=step.at,
            )
        )
        before = step.status
    return events


def _assignments(cases: list[Case], batch: list[tuple[CaseRow, Plan]]) -> None:
    Assignment.objects.bulk_create(
        Assignment(case=case, role=AssignmentRole.LEAD, **plan.assignment)
        for case, (_row, plan) in zip(cases, batch, strict=True)
        if plan.assignment is not None
    )


def _evaluations(cases: list[Case], batch: list[tuple[CaseRow, Plan]], events: list[Event]) -> None:
    by_case = {(event.case_id, event.action): event for event in events if event.action == Action.EVALUATE}
    found = []
    for case, (row, _plan) in zip(cases, batch, strict=True):
        event = by_case.get((case.pk, Action.EVALUATE.value))
        if event is None or row.rating is None:
            continue
        rating = row.rating
        found.append(
            Evaluation(
                case=case,
                event=event,
                satisfaction=rating.satisfaction,
                solved=rating.solved,
                comment=rating.comment,
                channel=rating.channel,
                resolution_seq=int(event.data["resolution_seq"]),
                at=event.at,
            )
        )
    Evaluation.objects.bulk_create(found)
