"""Demo stories: the service calls that take a planned case to its final status, with realistic pauses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Case, Channel, Kind, Satisfaction
from civicgrid.cases.states import Status
from civicgrid.ops import demo_names as names
from civicgrid.ops.demo_script import Ctx, Plan, Script
from civicgrid.org.models import Unit

S = Status
DOMAIN_DEPARTMENTS = {"ZHZF": "D-CG", "AQSC": "D-YJ", "SHZA": "D-GA", "MSFW": "D-MZ", "STHB": "D-HB"}
ESCALATING = (Unit.Kind.GRID, Unit.Kind.COMMUNITY, Unit.Kind.STREET)
SUMMONING = (Unit.Kind.STREET, Unit.Kind.COMMUNITY)


def _story_submitted(ctx: Ctx, script: Script, plan: Plan) -> None:
    """Nothing yet: it arrived minutes or hours ago."""


def _story_rejected(ctx: Ctx, script: Script, plan: Plan) -> None:
    """Something the platform does not take on: the case says so from the start."""
    title, description, reason = ctx.rng.choice(names.REJECTED_REQUESTS)
    script.new = replace(script.new, title=title, description=description, item=None)
    script.then(ctx.minutes(3, 240), services.case_reject, actor=ctx.cast.centre, reason=reason)


def _story_withdrawn(ctx: Ctx, script: Script, plan: Plan) -> None:
    stage = ctx.rng.random()
    if stage > 0.4:
        _work(ctx, script, plan, until=S.ACCEPTED if stage < 0.8 else S.IN_PROGRESS)
    actor = ctx.cast.integrator if plan.creator == ctx.cast.integrator else ctx.cast.centre
    reason = ctx.rng.choice(names.WITHDRAW_REASONS)
    script.then(ctx.hours(1, 48), services.case_withdraw, actor=actor, reason=reason)


def _story_accepted(ctx: Ctx, script: Script, plan: Plan) -> None:
    _work(ctx, script, plan, until=S.ACCEPTED)


def _story_dispatched(ctx: Ctx, script: Script, plan: Plan) -> None:
    _work(ctx, script, plan, until=S.DISPATCHED)


def _story_in_progress(ctx: Ctx, script: Script, plan: Plan) -> None:
    if not script.overdue and not plan.proactive and ctx.chance(0.1):
        # 重办: rated dissatisfied, reviewed and sent back to the handler.
        _work(ctx, script, plan, until=S.RESOLVED)
        _evaluate(ctx, script, plan, Satisfaction.DISSATISFIED)
        _reopen(ctx, script)
        return
    _work(ctx, script, plan, until=S.IN_PROGRESS)


def _story_resolved(ctx: Ctx, script: Script, plan: Plan) -> None:
    if _fits_on_the_spot(plan) and ctx.chance(0.5):
        _on_the_spot(ctx, script, plan)
        return
    _work(ctx, script, plan, until=S.RESOLVED)
    if not plan.proactive and ctx.chance(0.15):
        _evaluate(ctx, script, plan, Satisfaction.DISSATISFIED)  # waits for a supervisor's review


def _story_closed(ctx: Ctx, script: Script, plan: Plan) -> None:
    if _fits_on_the_spot(plan) and ctx.chance(0.7):
        _on_the_spot(ctx, script, plan)
        _close_unrated(ctx, script, plan)
        return
    _work(ctx, script, plan, until=S.RESOLVED)
    if plan.proactive or ctx.chance(0.12):
        _close_unrated(ctx, script, plan)
        return
    verdict = ctx.pick({Satisfaction.SATISFIED: 80, Satisfaction.BASICALLY: 12, Satisfaction.DISSATISFIED: 8})
    if plan.kind == Kind.PRAISE:
        verdict = Satisfaction.SATISFIED
    if verdict == Satisfaction.DISSATISFIED:
        _evaluate(ctx, script, plan, verdict)
        _reopen(ctx, script)
        _resolve(ctx, script, plan)
        verdict = ctx.pick({Satisfaction.SATISFIED: 70, Satisfaction.BASICALLY: 30})
    _evaluate(ctx, script, plan, verdict)


STORIES: dict[Status, Callable[[Ctx, Script, Plan], None]] = {
    S.SUBMITTED: _story_submitted,
    S.REJECTED: _story_rejected,
    S.WITHDRAWN: _story_withdrawn,
    S.ACCEPTED: _story_accepted,
    S.DISPATCHED: _story_dispatched,
    S.IN_PROGRESS: _story_in_progress,
    S.RESOLVED: _story_resolved,
    S.CLOSED: _story_closed,
}


# Handling: accept, dispatch, acknowledge, and what may happen on the way to a result.


def _work(ctx: Ctx, script: Script, plan: Plan, *, until: Status) -> None:
    """Accept, dispatch and handle the case up to `until` (accepted, dispatched, in progress, resolved)."""
    script.then(_intake_gap(ctx, plan), services.case_accept, actor=ctx.cast.centre, item=plan.item)
    if ctx.chance(0.3 if until == S.ACCEPTED else 0.06):
        _misdirect(ctx, script, plan)  # 退单: the first unit says it is not theirs
    if until == S.ACCEPTED:
        return
    _dispatch(ctx, script, plan)
    if until == S.DISPATCHED:
        if script.overdue:
            _supervise(
                ctx, script, ctx.hours(24 * plan.item.resolve_days * 1.5, 24 * (plan.item.resolve_days + 9))
            )
        return
    _take_up(ctx, script, plan, final=until == S.IN_PROGRESS)
    if until == S.RESOLVED:
        _resolve(ctx, script, plan)


def _intake_gap(ctx: Ctx, plan: Plan) -> timedelta:
    # An operator accepts a call while on the line; online reports wait in the queue a while.
    return ctx.minutes(1, 8) if plan.channel == Channel.HOTLINE else ctx.minutes(10, 180)


def _response_gap(ctx: Ctx, plan: Plan) -> timedelta:
    share = ctx.rng.uniform(1.05, 2.0) if ctx.chance(0.1) else ctx.rng.uniform(0.05, 0.7)
    return max(timedelta(hours=plan.item.response_hours * share), timedelta(minutes=3))


def _resolve_gap(ctx: Ctx, plan: Plan) -> timedelta:
    # Working days become calendar days here; about one case in ten finishes late.
    share = ctx.rng.uniform(1.05, 1.8) if ctx.chance(0.1) else ctx.rng.uniform(0.1, 0.85)
    return max(timedelta(days=plan.item.resolve_days * share), timedelta(minutes=40))


def _misdirect(ctx: Ctx, script: Script, plan: Plan) -> None:
    departments = ctx.cast.departments
    wrong = departments["D-CG"] if plan.lead.code != "D-CG" else departments["D-ZJ"]
    handler = ctx.acting(wrong)
    script.then(ctx.minutes(5, 90), services.case_dispatch, actor=ctx.cast.centre, lead=wrong)
    if ctx.chance(0.5):
        script.then(_response_gap(ctx, plan), services.case_acknowledge, actor=handler)
    reason = names.RETURN_REASON.format(unit=plan.lead.name)
    script.then(ctx.hours(0.5, 20), services.case_return, actor=handler, reason=reason)


def _dispatch(ctx: Ctx, script: Script, plan: Plan) -> None:
    script.lead, script.assists = plan.lead, _assists(ctx, plan) if ctx.chance(0.12) else []
    gap = ctx.minutes(5, 90)
    script.then(gap, services.case_dispatch, actor=ctx.cast.centre, lead=plan.lead, assist=script.assists)


def _assists(ctx: Ctx, plan: Plan) -> list[Unit]:
    """A department's case gets the community's help; an area's case a department's (协办)."""
    if plan.lead.kind == Unit.Kind.DEPARTMENT:
        return [plan.grid.parent] if plan.grid.parent else []
    department = ctx.cast.departments[DOMAIN_DEPARTMENTS[plan.item.domain.code]]
    return [department] if department.pk != plan.lead.pk else []


def _take_up(ctx: Ctx, script: Script, plan: Plan, *, final: bool) -> None:
    """Acknowledge, then perhaps escalate, summon, note, ask for time and be supervised."""
    assert script.lead is not None
    script.then(_response_gap(ctx, plan), services.case_acknowledge, actor=ctx.acting(script.lead))
    for unit in script.assists:
        script.then(ctx.minutes(10, 600), services.case_acknowledge, actor=ctx.acting(unit))
    if script.lead.kind in ESCALATING and not script.overdue and ctx.chance(0.08):
        _escalate(ctx, script, plan)
    if script.lead.kind in SUMMONING and ctx.chance(0.15):
        _summon(ctx, script)
    if ctx.chance(0.15):
        note = ctx.rng.choice(names.HANDLER_NOTES)
        script.then(ctx.hours(0.5, 12), services.case_note, actor=ctx.acting(script.lead), text=note)
    if plan.item.resolve_days >= 3 and ctx.chance(0.5 if script.overdue else 0.1):
        _extension(ctx, script, pending=final and ctx.chance(0.3), deny=script.overdue or ctx.chance(0.3))
    if script.overdue:
        _supervise(ctx, script, timedelta(days=plan.item.resolve_days * 1.5) + ctx.hours(24, 96))
    elif ctx.chance(0.06):
        _supervise(ctx, script, ctx.hours(2, 48))


def _escalate(ctx: Ctx, script: Script, plan: Plan) -> None:
    """民呼社应、社呼街应、街呼区应: the lead hands the case one level up, which must report in."""
    assert script.lead is not None and script.lead.parent is not None
    note = names.ESCALATE_NOTES[script.lead.kind]
    script.then(ctx.hours(2, 48), services.case_escalate, actor=ctx.acting(script.lead), note=note)
    script.lead = script.lead.parent
    script.then(_response_gap(ctx, plan), services.case_acknowledge, actor=ctx.acting(script.lead))


def _summon(ctx: Ctx, script: Script) -> None:
    """吹哨: the street or community calls one or two departments in; each reports in (报到)."""
    assert script.lead is not None
    busy = {unit.pk for unit in script.assists}
    candidates = [u for code, u in ctx.cast.departments.items() if code in ("D-CG", "D-GA", "D-ZJ", "D-YJ")]
    units = ctx.rng.sample([u for u in candidates if u.pk not in busy], k=ctx.rng.randint(1, 2))
    script.then(
        ctx.hours(1, 24),
        services.case_summon,
        actor=ctx.acting(script.lead),
        units=units,
        note=names.SUMMON_NOTE,
    )
    for unit in units:
        script.then(ctx.minutes(20, 240), services.case_acknowledge, actor=ctx.acting(unit))
    script.assists = [*script.assists, *units]


def _extension(ctx: Ctx, script: Script, *, pending: bool, deny: bool) -> None:
    assert script.lead is not None
    reason, days = ctx.rng.choice(names.EXTENSION_REASONS), ctx.rng.randint(3, 10)
    handler, supervisor = ctx.acting(script.lead), ctx.cast.supervisor
    script.then(ctx.hours(4, 72), services.case_request_extension, actor=handler, days=days, reason=reason)
    if pending:
        return
    if deny:
        reason = ctx.rng.choice(names.DENY_REASONS)
        script.then(ctx.hours(1, 24), services.case_deny_extension, actor=supervisor, reason=reason)
    else:
        script.then(ctx.hours(1, 24), services.case_approve_extension, actor=supervisor, note="同意延期")


def _supervise(ctx: Ctx, script: Script, gap: timedelta) -> None:
    actor = ctx.cast.leader if ctx.chance(0.2) else ctx.cast.supervisor
    script.then(gap, _flag, actor=actor)


def _flag(*, case: Case, actor: User) -> Case:
    # Whether the case is late is known only when the history is played, at the supervision moment.
    late = case.resolve_by is not None and clock.now() > case.resolve_by
    return services.case_supervise(
        case=case, actor=actor, note=names.SUPERVISE_LATE if late else names.SUPERVISE_SOON
    )


def _resolve(ctx: Ctx, script: Script, plan: Plan) -> None:
    assert script.lead is not None
    result = ctx.rng.choice(names.RESOLUTIONS[plan.item.domain.code])
    script.then(_resolve_gap(ctx, plan), services.case_resolve, actor=ctx.acting(script.lead), result=result)


def _fits_on_the_spot(plan: Plan) -> bool:
    return plan.proactive and plan.item.handler_level == "grid"


def _on_the_spot(ctx: Ctx, script: Script, plan: Plan) -> None:
    """小事一格解决: the grid worker takes the case on and finishes it in one visit."""
    worker = ctx.acting(plan.grid)
    result = ctx.rng.choice(names.RESOLUTIONS[plan.item.domain.code])
    script.then(ctx.minutes(2, 30), services.case_accept, actor=worker)
    script.then(ctx.minutes(10, 180), services.case_resolve, actor=worker, result=result)


def _evaluate(ctx: Ctx, script: Script, plan: Plan, satisfaction: str) -> None:
    """回访: the centre calls hotline callers back; residents rate online; the App passes ratings on."""
    callers: dict[str, User] = {Channel.HOTLINE: ctx.cast.centre, Channel.API: ctx.cast.integrator}
    actor = callers.get(plan.channel)
    solved_odds: dict[str, float] = {Satisfaction.SATISFIED: 1.0, Satisfaction.BASICALLY: 0.85}
    solved = ctx.chance(solved_odds.get(satisfaction, 0.2))
    comments: dict[str, list[str]] = {
        Satisfaction.SATISFIED: names.PRAISE_COMMENTS,
        Satisfaction.BASICALLY: names.BASIC_COMMENTS,
    }
    comment = ctx.rng.choice(comments.get(satisfaction, names.DISSATISFIED_COMMENTS))
    script.then(
        ctx.hours(2, 48),
        services.case_evaluate,
        actor=actor,
        solved=solved,
        satisfaction=satisfaction,
        comment=comment,
    )


def _reopen(ctx: Ctx, script: Script) -> None:
    script.then(ctx.hours(2, 30), services.case_reopen, actor=ctx.cast.supervisor, reason=names.REOPEN_REASON)


def _close_unrated(ctx: Ctx, script: Script, plan: Plan) -> None:
    note = names.CLOSE_NOTES[1 if plan.proactive else 0]
    script.then(ctx.hours(12, 72), services.case_close, actor=ctx.cast.centre, note=note)
