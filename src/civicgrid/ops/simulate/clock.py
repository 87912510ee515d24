"""What the clock does to a simulated case when a timer fires: cases.services.clock, rule for rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from civicgrid.cases.models import AssignmentStatus, Supervision
from civicgrid.cases.states import WITH_UNIT, Action, Status
from civicgrid.cases.timers import OPEN_ASSIGNMENT, UNFINISHED

if TYPE_CHECKING:
    from civicgrid.ops.simulate.story import Job, Story

A = Action
PENDING = AssignmentStatus.PENDING.value


def iso(story: Story, moment: int) -> str:
    """A deadline as the clock's events show it: local time."""
    return story.env.calendar.local(moment).isoformat()


def _waiting(story: Story, job: Job | None, statuses: frozenset[str]) -> Job | None:
    if job is None or story.status not in WITH_UNIT or not job.active or job.status not in statuses:
        return None
    return job


def warn_response(story: Story, at: int, job: Job | None) -> None:
    waiting = _waiting(story, job, frozenset({PENDING}))
    if waiting is not None:
        _warn(story, at, waiting, "response", waiting.respond_by)


def warn_resolution(story: Story, at: int, job: Job | None) -> None:
    holding = _waiting(story, job, OPEN_ASSIGNMENT)
    if holding is not None:
        _warn(story, at, holding, "resolution", holding.resolve_by)


def _warn(story: Story, at: int, job: Job, rule: str, deadline: int) -> None:
    data = {"rule": rule, "assignment": job.id, "deadline": iso(story, deadline)}
    story.record(A.WARN, at, actor=None, unit=job.unit, data=data, public=False)


def response_overdue(story: Story, at: int, job: Job | None) -> None:
    waiting = _waiting(story, job, frozenset({PENDING}))
    if waiting is not None:
        data = {"assignment": waiting.id, "deadline": iso(story, waiting.respond_by)}
        story.record(A.RESPONSE_OVERDUE, at, actor=None, unit=waiting.unit, data=data, public=False)


def not_reported(story: Story, at: int, job: Job | None) -> None:
    waiting = _waiting(story, job, frozenset({PENDING}))
    if waiting is None or waiting.unreported is not None:
        return
    story.record(
        A.NOT_REPORTED, at, actor=None, unit=waiting.unit, data={"assignment": waiting.id}, public=False
    )
    waiting.unreported = story.t


def _overdue(story: Story, at: int) -> bool:
    return story.status in UNFINISHED and story.resolve_by is not None and story.resolve_by <= at


def overdue(story: Story, at: int, job: Job | None) -> None:
    """超期: a yellow supervision by the system (an escalated case stays red)."""
    if not _overdue(story, at):
        return
    assert story.resolve_by is not None
    data = {"auto": True, "level": "yellow", "rule": "overdue", "deadline": iso(story, story.resolve_by)}
    story.record(A.SUPERVISE, at, actor=None, unit=story.owner, data=data)
    story.supervised_at = story.t
    story.supervision = story.supervision or Supervision.YELLOW.value


def escalate(story: Story, at: int, job: Job | None) -> None:
    """Still overdue: the area unit above the lead takes the case, under a red supervision."""
    lead = story.lead()
    if not (_overdue(story, at) and story.status in WITH_UNIT) or lead is None:
        return
    target = story.env.world.area_parent(lead.unit)
    if target is None:
        return
    hand_up(story, at, lead, target, auto=True, actor=None, note="")


def hand_up(
    story: Story, at: int, lead: Job, target: int, *, auto: bool, actor: int | None, note: str
) -> None:
    """services.case_escalate: the lead's assignment ends as escalated; the target must report in."""
    units = story.env.world.units
    data: dict[str, object] = {"from": units[lead.unit].code, "to": units[target].code}
    if auto:
        data = {"auto": True, "level": Supervision.RED.value, **data}
    story.record(A.ESCALATE, at, actor=actor, unit=target, to=Status.DISPATCHED.value, note=note, data=data)
    moment = story.t
    story.owner = target
    story.respond_by = moment + story.topic.response_hours * 3600
    if auto:
        story.supervision = Supervision.RED.value
    lead.active, lead.status, lead.ended = False, AssignmentStatus.ESCALATED.value, moment
    story.lapse_extension(moment)
    from civicgrid.ops.simulate import plot  # the new lead's human side: report in, then carry on

    plot.taken_over(story, story.assign(target, "lead", moment, None))


def remind_extension(story: Story, at: int, job: Job | None) -> None:
    waiting = story.pending_extension()
    if waiting is None or story.status not in WITH_UNIT:
        return
    data = {"rule": "extension", "request": waiting.id, "days": waiting.days}
    story.record(A.REMIND, at, actor=None, unit=waiting.unit, data=data, public=False)


def request_rating(story: Story, at: int, job: Job | None) -> None:
    if story.status == Status.RESOLVED and not story.rated and story.last_resolve_seq is not None:
        story.record(A.RATING_REQUEST, at, actor=None, data={"resolution_seq": story.last_resolve_seq})


def callback_due(story: Story, at: int, job: Job | None) -> None:
    if story.status != Status.RESOLVED or story.rated or story.callback_at is not None:
        return
    data = {"resolution_seq": story.last_resolve_seq}
    story.record(A.CALLBACK_DUE, at, actor=None, data=data, public=False)
    story.callback_at = story.t


FIRES: dict[str, Callable[[Story, int, Job | None], None]] = {
    "response_warning": warn_response,
    "response_overdue": response_overdue,
    "not_reported": not_reported,
    "resolution_warning": warn_resolution,
    "overdue": overdue,
    "escalation": escalate,
    "extension_reminder": remind_extension,
    "rating_request": request_rating,
    "callback": callback_due,
}
