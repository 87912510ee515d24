"""After handling: evaluate, reopen, close; at any time: supervise and note."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import (
    AssignmentRole,
    AssignmentStatus,
    Case,
    Evaluation,
    EvaluationChannel,
    Satisfaction,
    Supervision,
)
from civicgrid.cases.policy import ensure_allowed
from civicgrid.cases.selectors import last_resolution_seq
from civicgrid.cases.services._core import record, required
from civicgrid.cases.services.attachments import attachments_add, files_kept_only_on_success
from civicgrid.cases.services.deadlines import deadlines_from
from civicgrid.cases.states import Action, Capacity, evaluate_target, next_status
from civicgrid.cases.timers import replan_timers
from civicgrid.cases.uploads import CleanUpload


@transaction.atomic
def case_evaluate(
    *,
    case: Case,
    actor: User | None,
    solved: bool,
    satisfaction: str,
    comment: str = "",
    channel: str | None = None,
) -> Case:
    """Rate the latest resolution once: solved? satisfied? Dissatisfied keeps it open for review."""
    caps = ensure_allowed(case=case, actor=actor, action=Action.EVALUATE)
    if satisfaction not in Satisfaction.values:
        raise InvalidInput("satisfaction", _("满意度须为 satisfied、basically 或 dissatisfied"))
    if channel is None:
        channel = EvaluationChannel.CALLBACK if Capacity.CENTRE in caps else EvaluationChannel.RESIDENT
    if channel not in EvaluationChannel.values:
        raise InvalidInput("channel", _("评价方式须为 resident 或 callback"))
    resolution_seq = last_resolution_seq(case=case)
    assert resolution_seq is not None  # ensure_allowed checked there is an unrated resolution
    moment = clock.now()
    dissatisfied = satisfaction == Satisfaction.DISSATISFIED
    target = evaluate_target(dissatisfied=dissatisfied)
    event = record(
        case=case,
        action=Action.EVALUATE,
        actor=actor,
        note=comment.strip(),
        data={
            "satisfaction": satisfaction,
            "solved": solved,
            "channel": channel,
            "resolution_seq": resolution_seq,
        },
        status=target,
        closed_at=moment if target == "closed" else None,
        # Rated: out of the callback queue; dissatisfied: into the supervisor's reopen review (重办审核).
        callback_requested_at=None,
        review_requested_at=moment if dissatisfied else None,
    )
    Evaluation.objects.create(
        case=case,
        event=event,
        satisfaction=satisfaction,
        solved=solved,
        comment=comment.strip(),
        channel=channel,
        resolution_seq=resolution_seq,
        at=moment,
    )
    replan_timers(case=case)
    return case


@transaction.atomic
def case_reopen(*, case: Case, actor: User | None, reason: str) -> Case:
    """重办: back to the lead unit with a fresh resolution deadline."""
    ensure_allowed(case=case, actor=actor, action=Action.REOPEN)
    reason = required(reason, "reason")
    moment = clock.now()
    _respond_by, resolve_by = deadlines_from(item=case.item, start=moment)
    lead = case.assignments.filter(active=True, role=AssignmentRole.LEAD).select_related("unit").first()
    record(
        case=case,
        action=Action.REOPEN,
        actor=actor,
        unit=lead.unit if lead else None,
        note=reason,
        status=next_status(Action.REOPEN, case.status),
        resolved_at=None,
        closed_at=None,
        resolve_by=resolve_by,
        owner=lead.unit if lead else case.owner,
        callback_requested_at=None,
        review_requested_at=None,
    )
    if lead is not None:
        case.assignments.filter(pk=lead.pk).update(
            status=AssignmentStatus.ACKNOWLEDGED, ended_at=None, resolve_by=resolve_by
        )
    replan_timers(case=case)
    return case


@transaction.atomic
def case_close(*, case: Case, actor: User | None, note: str = "") -> Case:
    """销号: archive a resolved case; without a rating it stays "not evaluated", never satisfied."""
    ensure_allowed(case=case, actor=actor, action=Action.CLOSE)
    record(
        case=case,
        action=Action.CLOSE,
        actor=actor,
        note=note,
        status=next_status(Action.CLOSE, case.status),
        closed_at=clock.now(),
        callback_requested_at=None,
        review_requested_at=None,
    )
    replan_timers(case=case)
    return case


@transaction.atomic
def case_supervise(*, case: Case, actor: User | None, note: str) -> Case:
    """督办: flag the case; the owning unit must answer. May be repeated (催办)."""
    ensure_allowed(case=case, actor=actor, action=Action.SUPERVISE)
    note = required(note, "note")
    record(
        case=case,
        action=Action.SUPERVISE,
        actor=actor,
        unit=case.owner,
        note=note,
        supervised_at=clock.now(),
        # A red supervision (after an escalation) stays red.
        supervision=case.supervision or Supervision.YELLOW,
    )
    return case


def case_note(*, case: Case, actor: User, text: str, attachments: Sequence[CleanUpload] = ()) -> Case:
    """An internal note on the timeline (photos of a visit may go with it); never shown to the public."""
    written: list[str] = []
    with files_kept_only_on_success(written), transaction.atomic():
        ensure_allowed(case=case, actor=actor, action=Action.NOTE)
        text = required(text, "text")
        event = record(case=case, action=Action.NOTE, actor=actor, note=text, public=False)
        attachments_add(case=case, event=event, actor=actor, uploads=attachments, written=written)
    return case
