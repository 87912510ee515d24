"""Demo case histories: planned per case, then played through the real services at their own moments."""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Case, Channel, Kind
from civicgrid.cases.services import NewCase, Reporter
from civicgrid.cases.states import Status
from civicgrid.catalogue.models import Item
from civicgrid.ops import demo_names as names
from civicgrid.ops.demo_script import PROACTIVE, Cast, Ctx, Plan, Script
from civicgrid.ops.demo_stories import STORIES
from civicgrid.org.models import Unit

S = Status
# Every status appears once before the weights share out the rest; closed first, as on a real platform.
STATUS_WEIGHTS = {
    S.CLOSED: 58,
    S.RESOLVED: 8,
    S.IN_PROGRESS: 9,
    S.DISPATCHED: 5,
    S.ACCEPTED: 4,
    S.SUBMITTED: 4,
    S.REJECTED: 5,
    S.WITHDRAWN: 3,
    S.MERGED: 4,
}
# Every n-th case left in this status is an old one, past its deadline (what 督办 screens are for).
OVERDUE_EVERY = {S.IN_PROGRESS: 2, S.DISPATCHED: 4}
CHANNELS = {
    Channel.HOTLINE: 60,
    Channel.QR: 12,
    Channel.GRID_APP: 14,
    Channel.WEB: 5,
    Channel.API: 4,
    Channel.PATROL: 5,
}
KINDS = {
    Kind.COMPLAINT: 45,
    Kind.HELP: 25,
    Kind.CONSULT: 12,
    Kind.SUGGESTION: 10,
    Kind.REPORT: 5,
    Kind.PRAISE: 3,
}
FOUND_KINDS = {Kind.COMPLAINT: 55, Kind.HELP: 45}
# 举报 is about things a reporter would not want to be known for reporting.
REPORT_ITEMS = ["SHZA-102", "ZHZF-102", "STHB-102", "ZHZF-103", "STHB-103", "SHZA-103"]
LEVEL_WEIGHTS = {1: 1, 2: 3, 3: 8}
MERGEABLE = (S.CLOSED, S.RESOLVED, S.IN_PROGRESS, S.DISPATCHED, S.ACCEPTED, S.SUBMITTED)
BATCH = 200  # steps per transaction
WINDOW = timedelta(days=60)


def cases_load(*, rng: random.Random, cast: Cast, count: int) -> None:
    """Plan `count` histories over the last 60 days, then play them in time order, in batches."""
    items = {item.code: item for item in Item.objects.filter(active=True).select_related("domain")}
    ctx = Ctx(rng=rng, cast=cast, items=items, now=clock.now())
    planned = _statuses(rng, count)
    scripts = [
        _scheduled(ctx, _plan(ctx, status, overdue)) for status, overdue in planned if status != S.MERGED
    ]
    scripts += [_duplicate(ctx, scripts) for status, _ in planned if status == S.MERGED]
    _play_all(scripts)


def _statuses(rng: random.Random, count: int) -> list[tuple[Status, bool]]:
    """Final statuses in random order, each flagged when that case is to be left overdue."""
    statuses = list(STATUS_WEIGHTS)[:count]
    statuses += rng.choices(
        list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=count - len(statuses)
    )
    rng.shuffle(statuses)
    seen: Counter[Status] = Counter()
    flagged = []
    for status in statuses:
        every = OVERDUE_EVERY.get(status)
        flagged.append((status, every is not None and seen[status] % every == 0))
        seen[status] += 1
    return flagged


def _play_all(scripts: list[Script]) -> None:
    """Play every history's steps interleaved in time order, so each sees the others as they were then."""
    queue = [(script.begins, index, 0) for index, script in enumerate(scripts)]
    heapq.heapify(queue)
    while queue:
        with transaction.atomic():
            for _ in range(min(BATCH, len(queue))):
                moment, index, position = heapq.heappop(queue)
                script = scripts[index]
                _play_step(script, position, moment)
                if position < len(script.steps):
                    heapq.heappush(queue, (moment + script.steps[position].gap, index, position + 1))


def _play_step(script: Script, position: int, moment: datetime) -> None:
    """Position 0 files the case; position n plays its n-th step."""
    with clock.at(moment):
        if position == 0:
            script.case = services.case_create(actor=script.creator, new=script.new)
            return
        step = script.steps[position - 1]
        try:
            step.service(case=script.case, **step.kwargs)
        except Exception as error:
            number = script.case.number if script.case else "?"
            name = getattr(step.service, "__name__", step.service)
            raise RuntimeError(f"演示诉求 {number}（{script.status}）第 {position} 步 {name} 失败") from error


def _scheduled(ctx: Ctx, script: Script) -> Script:
    """Start old enough for ended cases and the overdue, recent for the rest; never past now."""
    span, latest = script.length, ctx.now - script.length - ctx.minutes(5, 60)
    if script.overdue:
        script.start = min(latest, ctx.now - ctx.hours(35 * 24, 58 * 24))
    elif script.status in (S.CLOSED, S.REJECTED, S.WITHDRAWN):
        script.start = ctx.now - WINDOW + (latest - (ctx.now - WINDOW)) * ctx.rng.random()
    else:
        script.start = latest - ctx.hours(0, 36 if span else 6)
    script.start = min(_daytime(ctx, script.start), latest)
    return script


def _daytime(ctx: Ctx, moment: datetime) -> datetime:
    """Most people call between 7:00 and 22:00 local time."""
    hour = timezone.localtime(moment).hour
    return moment if 7 <= hour < 22 else moment + timedelta(hours=(7 - hour) % 24) + ctx.minutes(0, 600)


# Planning: what the case is, who files it.


def _plan(ctx: Ctx, status: Status, overdue: bool) -> Script:
    plan = _draft(ctx, status)
    script = Script(status=status, new=_new_case(ctx, plan), creator=plan.creator, overdue=overdue)
    STORIES[status](ctx, script, plan)
    return script


def _draft(ctx: Ctx, status: Status) -> Plan:
    channels = CHANNELS if status not in (S.REJECTED, S.WITHDRAWN) else {Channel.HOTLINE: 5, Channel.QR: 1}
    channel = ctx.pick(channels)
    kind = ctx.pick(FOUND_KINDS if channel in PROACTIVE else KINDS)
    grid, item = _place_and_item(ctx, kind=kind, proactive=channel in PROACTIVE)
    buildings = ctx.cast.buildings.get(grid.pk, [])
    building = ctx.rng.choice(buildings) if buildings and (channel == Channel.QR or ctx.chance(0.7)) else None
    lead = item.default_handler_unit(place=grid)
    assert lead is not None, item.code
    return Plan(grid, item, lead, channel, kind, _creator(ctx, channel, grid), building)


def _place_and_item(ctx: Ctx, *, kind: str, proactive: bool) -> tuple[Unit, Item]:
    cast = ctx.cast
    if cast.dedicated and ctx.chance(0.08):
        grid = ctx.rng.choice(cast.dedicated)
        return grid, ctx.items[ctx.rng.choice(names.DEDICATED_ITEMS[grid.category])]
    grid = ctx.rng.choice(cast.grids)
    if kind == Kind.REPORT:
        return grid, ctx.items[ctx.rng.choice(REPORT_ITEMS)]
    # Grid workers mostly find the small things a grid or community handles itself.
    local = proactive and ctx.chance(0.7)
    pool = [i for i in ctx.items.values() if not local or i.handler_level in ("grid", "community")]
    return grid, ctx.rng.choices(pool, weights=[LEVEL_WEIGHTS[i.level] for i in pool])[0]


def _creator(ctx: Ctx, channel: str, grid: Unit) -> User | None:
    if channel == Channel.HOTLINE:
        return ctx.cast.centre
    if channel == Channel.API:
        return ctx.cast.integrator
    if channel == Channel.GRID_APP and grid.pk in ctx.cast.volunteers and ctx.chance(0.3):
        return ctx.rng.choice(ctx.cast.volunteers[grid.pk])
    # Residents scanning a building's QR code or using the website sign in to nothing.
    return ctx.acting(grid) if channel in PROACTIVE else None


def _new_case(ctx: Ctx, plan: Plan) -> NewCase:
    where = plan.building or plan.grid
    # The operator classifies hotline and resident cases on accepting; staff and integrators send an item.
    classified = plan.channel in (*PROACTIVE, Channel.API)
    return NewCase(
        kind=plan.kind,
        description=_describe(plan, where.name),
        place=plan.grid,
        channel=plan.channel,
        title=plan.item.name,
        item=plan.item if classified else None,
        building=plan.building,
        address=plan.building.address if plan.building else "",
        lat=round(where.lat, 6) if where.lat is not None else None,
        lon=round(where.lon, 6) if where.lon is not None else None,
        proactive=plan.proactive,
        reporter=_reporter(ctx, plan.channel, plan.creator if plan.proactive else None),
    )


def _describe(plan: Plan, where: str) -> str:
    said = names.ITEM_TEXTS.get(plan.item.code, "{where}" + plan.item.name).format(where=where)
    if plan.proactive:
        return f"{'巡查' if plan.channel == Channel.PATROL else '走访'}发现：{said}"
    texts: dict[str, str] = {
        Kind.CONSULT: f"咨询：{where}{plan.item.name}的问题应该找哪个部门，需要怎么办理？",
        Kind.SUGGESTION: f"建议：{said}，希望相关部门加强日常管理",
        Kind.PRAISE: f"表扬：此前反映{where}{plan.item.name}的问题已经解决，感谢工作人员认真负责",
        Kind.REPORT: f"举报：{said}，希望有关部门依法查处，请为我保密",
        Kind.HELP: f"{said}，请帮忙解决",
    }
    return texts.get(plan.kind, f"{said}，请尽快处理")


def _reporter(ctx: Ctx, channel: str, staff: User | None) -> Reporter:
    """Staff report under their own name; a few residents stay anonymous or ask for confidentiality."""
    if staff is not None:
        return Reporter(name=staff.display_name, phone=staff.phone)
    if channel in (Channel.QR, Channel.WEB) and ctx.chance(0.05):
        return Reporter(anonymous=True)
    return Reporter(
        name=names.person_name(ctx.rng), phone=names.phone_number(ctx.rng), confidential=ctx.chance(0.03)
    )


def _duplicate(ctx: Ctx, scripts: list[Script]) -> Script:
    """A second report of something reported before and still open, merged into it (合并)."""
    gaps = [ctx.minutes(2, 60)] if ctx.chance(0.5) else []
    gaps.append(ctx.minutes(5, 120))
    span = sum(gaps, timedelta())
    target = _merge_target(ctx, scripts, span)
    if target is None:  # only with a handful of cases: nothing to duplicate
        return _scheduled(ctx, _plan(ctx, S.REJECTED, overdue=False))
    channel = Channel.HOTLINE if ctx.chance(0.7) else Channel.WEB
    again = "再次反映：" + target.new.description
    new = replace(
        target.new,
        description=again,
        channel=channel,
        proactive=False,
        reporter=_reporter(ctx, channel, None),
    )
    creator = ctx.cast.centre if channel == Channel.HOTLINE else None
    script = Script(status=S.MERGED, new=new, creator=creator)
    if len(gaps) > 1:
        script.then(gaps[0], services.case_accept, actor=ctx.cast.centre)
    script.then(gaps[-1], _merge_into, actor=ctx.cast.centre, target=target)
    earliest, latest = target.begins + ctx.minutes(10, 60), _open_until(ctx, target) - span
    script.start = min(earliest + ctx.hours(0, 72), latest)
    return script


def _open_until(ctx: Ctx, script: Script) -> datetime:
    return min(script.open_until or ctx.now, ctx.now) - timedelta(minutes=5)


def _merge_target(ctx: Ctx, scripts: list[Script], span: timedelta) -> Script | None:
    """A case open long enough for a duplicate to arrive and be merged while it still is."""
    room = span + timedelta(hours=1)
    fits = [s for s in scripts if s.status in MERGEABLE and _open_until(ctx, s) - s.begins > room]
    return ctx.rng.choice(fits) if fits else None


def _merge_into(*, case: Case, actor: User, target: Script) -> Case:
    assert target.case is not None  # filed before: the duplicate starts after it
    return services.case_merge(case=case, actor=actor, into=target.case)
