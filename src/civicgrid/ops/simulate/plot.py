"""The people's side of a simulated case: what they do and when, each step as its service does it.

Steps run at their moment (Story.play) and check the case as it is then, as the service's own checks
would: a step whose reason went away (the case was resolved, escalated, withdrawn) does nothing.
"""

from __future__ import annotations

from civicgrid.cases.models import AssignmentStatus, Satisfaction
from civicgrid.cases.states import WITH_UNIT, Action, Status
from civicgrid.ops import demo_names as names
from civicgrid.ops.demo_stories import DOMAIN_DEPARTMENTS
from civicgrid.ops.simulate import mix
from civicgrid.ops.simulate.story import Job, Rating, Story
from civicgrid.org.models import Unit

A, S = Action, Status
MIN, HOUR, DAY = 60, 3600, 86400
ESCALATING = (Unit.Kind.GRID, Unit.Kind.COMMUNITY, Unit.Kind.STREET)
SUMMONING = (Unit.Kind.STREET, Unit.Kind.COMMUNITY)


def _u(story: Story, low: float, high: float) -> int:
    return int(story.env.rng.uniform(low, high))


def _chance(story: Story, p: float) -> bool:
    return story.env.rng.random() < p


def _actor(story: Story, unit: int | None) -> int | None:
    return story.env.world.acting.get(unit) if unit is not None else None


def begin(story: Story) -> None:
    """After the 'create' event: how intake goes."""
    t, rng = story.t, story.env.rng
    if "into" in story.plan:
        if _chance(story, 0.2):
            story.then(t + _u(story, 2 * MIN, 60 * MIN), accept)
        story.then(t + _u(story, 5 * MIN, 120 * MIN), merge)
        return
    if not story.proactive:
        draw = rng.random()
        if draw < mix.REJECT:
            story.plan["rejected"] = rng.choice(names.REJECTED_REQUESTS)
            story.then(t + _u(story, 3 * MIN, 240 * MIN), reject)
            return
        if draw < mix.REJECT + mix.WITHDRAW_EARLY:
            story.then(t + _u(story, 10 * MIN, 48 * HOUR), withdraw)
            return
    if story.proactive and story.topic.handler_level == "grid" and _chance(story, mix.ON_THE_SPOT):
        story.then(t + _u(story, 2 * MIN, 30 * MIN), accept_on_the_spot)
        return
    gap = _u(story, MIN, 8 * MIN) if story.channel == "hotline" else _u(story, 10 * MIN, 180 * MIN)
    story.then(t + gap, accept)
    story.plan["go"] = True


def _accept(story: Story, at: int, actor: int | None, owner: int) -> None:
    env, topic = story.env, story.topic
    story.record(A.ACCEPT, at, actor=actor, unit=owner, to=S.ACCEPTED, data={"item": topic.code})
    story.item_known, story.owner, story.accepted_at = True, owner, story.t
    story.respond_by = story.t + topic.response_hours * HOUR
    story.resolve_by = env.calendar.resolve_deadline(story.t, topic.resolve_days)
    story.first_receiver = story.first_receiver or actor


def accept(story: Story, at: int) -> None:
    if story.status != S.SUBMITTED:
        return
    _accept(story, at, story.env.world.centre, story.env.world.district.id)
    if not story.plan.get("go"):
        return  # a duplicate accepted before it is merged
    if _chance(story, mix.WITHDRAW_LATER):
        story.then(story.t + _u(story, HOUR, 72 * HOUR), withdraw)
    step = dispatch_elsewhere if _chance(story, mix.MISDIRECT) else dispatch
    story.then(story.t + _u(story, 5 * MIN, 90 * MIN), step)


def accept_on_the_spot(story: Story, at: int) -> None:
    """小事一格解决: the grid worker takes the case on and finishes it in one visit."""
    _accept(story, at, _actor(story, story.grid.id), story.grid.id)
    story.then(story.t + _u(story, 10 * MIN, 180 * MIN), resolve_on_the_spot)


def _response_gap(story: Story) -> int:
    share = (
        story.env.rng.uniform(1.05, 2.5)
        if _chance(story, mix.RESPOND_LATE)
        else story.env.rng.uniform(0.05, 0.7)
    )
    return max(int(story.topic.response_hours * HOUR * share), 3 * MIN)


def _dispatch(story: Story, at: int, lead: int, assists: list[int], *, reports_in: bool = True) -> Job:
    units = story.env.world.units
    data = {"lead": units[lead].code, "assist": [units[u].code for u in assists]}
    story.record(A.DISPATCH, at, actor=story.env.world.centre, unit=lead, to=S.DISPATCHED, data=data)
    story.owner, story.respond_by = lead, story.t + story.topic.response_hours * HOUR
    job = story.assign(lead, "lead", story.t, story.t + _response_gap(story) if reports_in else None)
    if reports_in:
        _expect_ack(story, job)
    for unit in assists:
        _expect_ack(story, story.assign(unit, "assist", story.t, story.t + _u(story, 10 * MIN, 600 * MIN)))
    return job


def _expect_ack(story: Story, job: Job) -> None:
    assert job.ack_at is not None
    story.then(job.ack_at, lambda s, at: acknowledge(s, at, job))


def acknowledge(story: Story, at: int, job: Job) -> None:
    if not (job.active and job.status == AssignmentStatus.PENDING and story.status in WITH_UNIT):
        return
    lead = job.role == "lead"
    data = {"role": job.role, "late": at > job.respond_by}
    to = S.IN_PROGRESS if lead else story.status
    story.record(A.ACKNOWLEDGE, at, actor=_actor(story, job.unit), unit=job.unit, to=to, data=data)
    job.status, job.acked = AssignmentStatus.ACKNOWLEDGED, story.t


def dispatch_elsewhere(story: Story, at: int) -> None:
    """派错: the first unit is the wrong one; it may report in before it returns the case (退单)."""
    if story.status != S.ACCEPTED:
        return
    right = story.env.world.lead(story.topic, story.grid)
    wrong = [u.id for u in story.env.world.departments if u.id != right]
    if not wrong:
        dispatch(story, at)
        return
    job = _dispatch(story, at, story.env.rng.choice(wrong), [], reports_in=_chance(story, 0.5))
    after = (job.ack_at or story.t) + _u(story, 30 * MIN, 20 * HOUR)
    story.then(after, return_case)


def return_case(story: Story, at: int) -> None:
    lead = story.lead()
    if lead is None or story.status not in WITH_UNIT:
        return
    right = story.env.world.units[story.env.world.lead(story.topic, story.grid)]
    note = names.RETURN_REASON.format(unit=right.name)
    story.record(A.RETURN, at, actor=_actor(story, lead.unit), unit=lead.unit, to=S.ACCEPTED, note=note)
    moment = story.t
    story.owner, story.respond_by = story.env.world.district.id, None
    lead.active, lead.status, lead.ended = False, AssignmentStatus.RETURNED, moment
    story.end_jobs(moment)
    story.lapse_extension(moment)
    story.then(moment + _u(story, 5 * MIN, 90 * MIN), dispatch)


def _assists(story: Story, lead: int) -> list[int]:
    """A department's case gets the community's help; an area's case the domain's department (协办)."""
    world = story.env.world
    if world.units[lead].kind == Unit.Kind.DEPARTMENT:
        return [story.grid.parent_id] if story.grid.parent_id is not None else []
    code = DOMAIN_DEPARTMENTS.get(story.topic.domain)
    found = [u.id for u in world.departments if u.code == code and u.id != lead]
    return found[:1]


def dispatch(story: Story, at: int) -> None:
    if story.status != S.ACCEPTED:
        return
    lead = story.env.world.lead(story.topic, story.grid)
    assists = _assists(story, lead) if _chance(story, mix.ASSISTS) else []
    job = _dispatch(story, at, lead, assists)
    _plan_work(story, job)


def _plan_work(story: Story, lead: Job) -> None:
    """When the lead will resolve, and what may happen on the way (notes, help, more time, 督办)."""
    assert lead.ack_at is not None and story.resolve_by is not None
    start, deadline = lead.ack_at, story.resolve_by
    unit_kind = story.env.world.units[lead.unit].kind
    from civicgrid.ops.simulate.detours import escalate, note, request_extension, summon, supervise

    if story.topic.resolve_days >= 3 and _chance(story, mix.EXTENSION):
        asked = start + int((deadline - start) * story.env.rng.uniform(0.2, 0.7))
        days = _u(story, 3, 11)
        approved = _chance(story, mix.EXTENSION_APPROVED)
        story.then(asked, lambda s, at: request_extension(s, at, days, approved))
        if approved:
            deadline = story.env.calendar.extend_deadline(deadline, days)
    story.plan["target"] = _target(story, start, deadline, mix.ON_TIME)
    story.then(story.plan["target"], resolve)
    if _chance(story, mix.NOTE):
        story.then(start + _u(story, 30 * MIN, 12 * HOUR), note)
    if _chance(story, mix.SUPERVISE):
        story.then(start + _u(story, 2 * HOUR, 48 * HOUR), supervise)
    if unit_kind in SUMMONING and _chance(story, mix.SUMMON):
        story.then(start + _u(story, HOUR, 24 * HOUR), summon)
    elif unit_kind in ESCALATING and _chance(story, mix.ESCALATE):
        story.then(start + _u(story, 2 * HOUR, 48 * HOUR), escalate)


def _target(story: Story, start: int, deadline: int, on_time: float) -> int:
    rng = story.env.rng
    if rng.random() < on_time:
        room = max(deadline - start, 2 * HOUR)
        return min(start + int(room * rng.uniform(0.08, 0.95)), deadline - MIN)
    return deadline + int(rng.expovariate(1 / (mix.LATE_DAYS_MEAN * DAY))) + 10 * MIN


def taken_over(story: Story, job: Job) -> None:
    """A unit given the case by an escalation reports in, then carries the work on."""
    job.ack_at = story.t + _response_gap(story)
    _expect_ack(story, job)


def _ready(story: Story, at: int, step: object) -> bool:
    """Whether the lead holds the case and has reported in; when it is still to, try again after it does."""
    if story.status not in WITH_UNIT:
        return False
    lead = story.lead()
    if lead is not None and lead.acked is not None and story.status == S.IN_PROGRESS:
        return True
    if lead is not None and lead.ack_at is not None:
        story.then(max(lead.ack_at, at) + _u(story, HOUR, 72 * HOUR), step)  # type: ignore[arg-type]
    return False


def resolve(story: Story, at: int) -> None:
    if not _ready(story, at, resolve):
        return
    lead = story.lead()
    assert lead is not None
    result = story.env.rng.choice(names.RESOLUTIONS.get(story.topic.domain, names.RESOLUTIONS["MSFW"]))
    _resolved(story, at, lead.unit, result, on_the_spot=False)
    story.end_jobs(story.t, role="assist")
    lead.status, lead.ended = AssignmentStatus.RESOLVED, story.t
    story.lapse_extension(story.t)
    _after_resolution(story)


def resolve_on_the_spot(story: Story, at: int) -> None:
    if story.status != S.ACCEPTED:
        return
    result = story.env.rng.choice(names.RESOLUTIONS.get(story.topic.domain, names.RESOLUTIONS["MSFW"]))
    actor = _actor(story, story.grid.id)
    _resolved(story, at, story.grid.id, result, on_the_spot=True, actor=actor)
    job = story.assign(story.grid.id, "lead", story.t, story.t)
    job.status, job.acked, job.ended = AssignmentStatus.RESOLVED, story.t, story.t
    _after_resolution(story)


def _resolved(
    story: Story, at: int, unit: int, result: str, *, on_the_spot: bool, actor: int | None = None
) -> None:
    actor = actor if on_the_spot else _actor(story, unit)
    seq = story.record(
        A.RESOLVE, at, actor=actor, unit=unit, to=S.RESOLVED, note=result, data={"on_the_spot": on_the_spot}
    )
    story.resolved_at, story.owner, story.callback_at, story.review_at = story.t, unit, None, None
    story.last_resolve_seq, story.rated = seq, False


def _after_resolution(story: Story) -> None:
    """Rated by the resident, rated on the operators' callback, or closed unrated."""
    t, world = story.t, story.env.world
    if story.proactive:
        low, high = mix.ON_THE_SPOT_CLOSE_HOURS
        story.then(
            t + _u(story, low * HOUR, high * HOUR),
            lambda s, at: close(s, at, world.centre, names.CLOSE_NOTES[1]),
        )
        return
    if not _chance(story, mix.RATED):
        story.then(
            t + _u(story, 76 * HOUR, 144 * HOUR),
            lambda s, at: close(s, at, world.centre, names.CLOSE_NOTES[0]),
        )
        return
    weights = mix.SATISFACTION_AGAIN if story.plan.get("reopened") else mix.SATISFACTION
    verdict = story.env.rng.choices(list(weights), weights=list(weights.values()))[0]
    if story.kind == "praise":
        verdict = Satisfaction.SATISFIED.value
    if _chance(story, mix.RATED_BY_RESIDENT):
        by = world.integrator if story.channel == "api" else None
        story.then(t + _u(story, 30 * MIN, 70 * HOUR), lambda s, at: evaluate(s, at, verdict, "resident", by))
    else:
        story.then(
            t + _u(story, 74 * HOUR, 120 * HOUR),
            lambda s, at: evaluate(s, at, verdict, "callback", world.centre),
        )


def evaluate(story: Story, at: int, verdict: str, channel: str, actor: int | None) -> None:
    if story.status != S.RESOLVED or story.rated or story.last_resolve_seq is None:
        return
    rng, unhappy = story.env.rng, verdict == Satisfaction.DISSATISFIED
    solved = rng.random() < mix.SOLVED[verdict]
    pool = {"satisfied": names.PRAISE_COMMENTS, "basically": names.BASIC_COMMENTS}.get(
        verdict, names.DISSATISFIED_COMMENTS
    )
    comment = rng.choice(pool)
    data = {
        "satisfaction": verdict,
        "solved": solved,
        "channel": channel,
        "resolution_seq": story.last_resolve_seq,
    }
    to = S.RESOLVED if unhappy else S.CLOSED
    seq = story.record(A.EVALUATE, at, actor=actor, to=to, note=comment, data=data)
    story.ratings.append(Rating(seq, verdict, solved, comment, channel, story.last_resolve_seq, story.t))
    story.rated, story.callback_at = True, None
    story.closed_at = None if unhappy else story.t
    story.review_at = story.t if unhappy else None
    if unhappy:
        supervisor = story.env.world.supervisor
        if _chance(story, mix.REOPEN_AFTER_REVIEW):
            story.then(story.t + _u(story, 2 * HOUR, 30 * HOUR), reopen)
        else:
            story.then(
                story.t + _u(story, 2 * HOUR, 30 * HOUR),
                lambda s, t: close(s, t, supervisor, mix.REVIEW_CLOSE_NOTE),
            )


def close(story: Story, at: int, actor: int | None, text: str) -> None:
    if story.status != S.RESOLVED:
        return
    story.record(A.CLOSE, at, actor=actor, to=S.CLOSED, note=text)
    story.closed_at, story.callback_at, story.review_at = story.t, None, None


def reopen(story: Story, at: int) -> None:
    """重办: back to the lead with a fresh deadline."""
    if story.status != S.RESOLVED:
        return
    lead = story.lead()
    unit = lead.unit if lead else None
    supervisor = story.env.world.supervisor
    story.record(A.REOPEN, at, actor=supervisor, unit=unit, to=S.IN_PROGRESS, note=names.REOPEN_REASON)
    moment = story.t
    deadline = story.env.calendar.resolve_deadline(moment, story.topic.resolve_days)
    story.resolved_at, story.closed_at, story.resolve_by = None, None, deadline
    story.owner = unit if unit is not None else story.owner
    story.callback_at = story.review_at = None
    story.plan["reopened"] = True
    if lead is not None:
        lead.status, lead.ended, lead.resolve_by = AssignmentStatus.ACKNOWLEDGED, None, deadline
    story.then(_target(story, moment + _u(story, HOUR, 8 * HOUR), deadline, mix.ON_TIME_AGAIN), resolve)


def withdraw(story: Story, at: int) -> None:
    if story.status not in (S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS):
        return
    world = story.env.world
    actor = (
        world.integrator if story.creator is not None and story.creator == world.integrator else world.centre
    )
    note = story.env.rng.choice(names.WITHDRAW_REASONS)
    story.record(A.WITHDRAW, at, actor=actor, to=S.WITHDRAWN, note=note)
    story.closed_at = story.t
    story.end_jobs(story.t)
    story.lapse_extension(story.t)


def reject(story: Story, at: int) -> None:
    reason = story.plan["rejected"][2]
    story.record(A.REJECT, at, actor=story.env.world.centre, to=S.REJECTED, note=reason)
    story.closed_at = story.t


def merge(story: Story, at: int) -> None:
    if story.status not in (S.SUBMITTED, S.ACCEPTED):
        return
    into_id, into_number, _text = story.plan["into"]
    data = {"into": into_number}
    story.record(A.MERGE, at, actor=story.env.world.centre, to=S.MERGED, note=into_number, data=data)
    story.merged_into, story.closed_at = into_id, story.t
