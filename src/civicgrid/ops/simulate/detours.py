"""What may happen to a case on the way to its resolution: more time, help, handing up, notes, 督办."""

from __future__ import annotations

from civicgrid.cases.models import Supervision
from civicgrid.cases.states import WITH_UNIT, Action, Status
from civicgrid.ops import demo_names as names
from civicgrid.ops.simulate import mix
from civicgrid.ops.simulate.clock import hand_up, iso
from civicgrid.ops.simulate.plot import ESCALATING, HOUR, MIN, SUMMONING, _actor, _chance, _expect_ack, _u
from civicgrid.ops.simulate.story import Extension, Story

A, S = Action, Status


def request_extension(story: Story, at: int, days: int, approved: bool) -> None:
    lead = story.lead()
    if story.status != S.IN_PROGRESS or lead is None or story.pending_extension() is not None:
        return
    reason = story.env.rng.choice(names.EXTENSION_REASONS)
    actor = _actor(story, lead.unit)
    story.record(A.REQUEST_EXTENSION, at, actor=actor, unit=lead.unit, note=reason, data={"days": days})
    story.extensions.append(Extension(story.env.new_id("extension"), lead.unit, days, reason, story.t))
    decide = approve_extension if approved else deny_extension
    story.then(story.t + _u(story, HOUR, 24 * HOUR), decide)


def approve_extension(story: Story, at: int) -> None:
    waiting = story.pending_extension()
    if waiting is None or story.status not in WITH_UNIT or story.resolve_by is None:
        return
    new = story.env.calendar.extend_deadline(story.resolve_by, waiting.days)
    data = {"days": waiting.days, "from": iso(story, story.resolve_by), "to": iso(story, new)}
    supervisor = story.env.world.supervisor
    story.record(
        A.APPROVE_EXTENSION, at, actor=supervisor, unit=waiting.unit, note=mix.APPROVE_NOTE, data=data
    )
    story.resolve_by = new
    waiting.status, waiting.decided = "approved", story.t
    for job in story.jobs:
        if job.active:
            job.resolve_by = new


def deny_extension(story: Story, at: int) -> None:
    waiting = story.pending_extension()
    if waiting is None or story.status not in WITH_UNIT:
        return
    reason = story.env.rng.choice(names.DENY_REASONS)
    supervisor = story.env.world.supervisor
    story.record(
        A.DENY_EXTENSION, at, actor=supervisor, unit=waiting.unit, note=reason, data={"days": waiting.days}
    )
    waiting.status, waiting.decided = "denied", story.t


def summon(story: Story, at: int) -> None:
    """吹哨: the leading street or community calls one or two departments in; each reports in."""
    lead = story.lead()
    if story.status != S.IN_PROGRESS or lead is None:
        return
    world = story.env.world
    if world.units[lead.unit].kind not in SUMMONING:
        return
    busy = {job.unit for job in story.jobs if job.active}
    free = [u.id for u in world.departments if u.id not in busy]
    if not free:
        return
    units = story.env.rng.sample(free, k=min(len(free), story.env.rng.randint(1, 2)))
    data = {"units": [world.units[u].code for u in units]}
    story.record(
        A.SUMMON, at, actor=_actor(story, lead.unit), unit=lead.unit, note=names.SUMMON_NOTE, data=data
    )
    for unit in units:
        _expect_ack(story, story.assign(unit, "assist", story.t, story.t + _u(story, 20 * MIN, 240 * MIN)))


def escalate(story: Story, at: int) -> None:
    """民呼社应、社呼街应、街呼区应: the lead hands the case one level up by hand."""
    lead = story.lead()
    if story.status != S.IN_PROGRESS or lead is None:
        return
    target = story.env.world.area_parent(lead.unit)
    kind = story.env.world.units[lead.unit].kind
    if target is None or kind not in ESCALATING:
        return
    hand_up(
        story, at, lead, target, auto=False, actor=_actor(story, lead.unit), note=names.ESCALATE_NOTES[kind]
    )


def note(story: Story, at: int) -> None:
    lead = story.lead()
    if story.status not in WITH_UNIT or lead is None:
        return
    text = story.env.rng.choice(names.HANDLER_NOTES)
    story.record(A.NOTE, at, actor=_actor(story, lead.unit), note=text, public=False)


def supervise(story: Story, at: int) -> None:
    if story.status not in WITH_UNIT:
        return
    world = story.env.world
    actor = world.leader if _chance(story, 0.2) else world.supervisor
    late = story.resolve_by is not None and at > story.resolve_by
    text = names.SUPERVISE_LATE if late else names.SUPERVISE_SOON
    story.record(A.SUPERVISE, at, actor=actor, unit=story.owner, note=text)
    story.supervised_at = story.t
    story.supervision = story.supervision or Supervision.YELLOW.value
