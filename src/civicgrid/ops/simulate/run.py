"""A simulation run: check the arguments, spread the cases over the days, play each, write the rows."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.cases.models import DailyCounter
from civicgrid.cases.states import Action, Status
from civicgrid.cases.timers import thresholds_for
from civicgrid.ops.demo import DemoSize
from civicgrid.ops.simulate import mix, plot
from civicgrid.ops.simulate.calendar import Calendar, apportion
from civicgrid.ops.simulate.intake import Draft, Intake, Recent, draw
from civicgrid.ops.simulate.story import Env, Story
from civicgrid.ops.simulate.world import SimulationError, World, prepare_world
from civicgrid.ops.simulate.writer import Sink, open_sink

MAX_CASES = 100_000_000
MAX_YEARS = 30
BATCH = 2000  # cases per write
PROGRESS_EVERY = 2.0  # seconds between progress lines
_BUMP = (
    f"INSERT INTO {DailyCounter._meta.db_table} (day, value) VALUES (%s, %s) "
    f"ON CONFLICT (day) DO UPDATE SET value = {DailyCounter._meta.db_table}.value + EXCLUDED.value "
    "RETURNING value"
)


@dataclass(frozen=True)
class Options:
    cases: int
    years: float
    seed: int | None = None
    end: date | None = None
    district: str | None = None
    rollups: bool = True  # fold the new cases into the statistics' rollups afterwards


@dataclass(frozen=True)
class Outcome:
    cases: int
    rows: dict[str, int]
    first: date
    last: date
    seconds: float
    rollup_seconds: float

    @property
    def rate(self) -> float:
        return self.cases / self.seconds if self.seconds > 0 else float(self.cases)


def check(options: Options, *, today: date) -> None:
    """Raise SimulationError for arguments no run could use."""
    if not 1 <= options.cases <= MAX_CASES:
        raise SimulationError(_("--cases 须在 1 到 %(max)s 之间") % {"max": f"{MAX_CASES:,}"})
    if not 0 < options.years <= MAX_YEARS:
        raise SimulationError(_("--years 须大于 0 且不超过 %(max)d") % {"max": MAX_YEARS})
    if round(options.years * 365) < 1:
        raise SimulationError(_("--years 太短：至少要覆盖一天"))
    if options.end is not None and options.end > today:
        raise SimulationError(_("--end 不能晚于今天（%(today)s）") % {"today": today.isoformat()})


def simulate(
    options: Options, *, progress: Callable[[str], None] | None = None, demo_size: DemoSize | None = None
) -> Outcome:
    """Write `options.cases` case histories over the last `options.years` years up to `options.end`."""
    zone = timezone.get_default_timezone()
    moment = clock.now()
    today = timezone.localtime(moment, zone).date()
    check(options, today=today)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
    world = prepare_world(district_code=options.district, seed=seed, demo_size=demo_size)
    last = options.end or today
    first = last - timedelta(days=round(options.years * 365) - 1)
    end_of_last = datetime.combine(last + timedelta(days=1), clock_time.min, zone)
    now = int(min(moment, end_of_last).timestamp()) - 1
    calendar = Calendar(first=first, last=last, zone=zone)
    rng = random.Random(seed)
    total = sum(mix.HOURS)
    counts = apportion(
        options.cases, calendar.day_weights(rng, now=now, hour_share=[h / total for h in mix.HOURS]), rng
    )
    started = time.monotonic()
    with transaction.atomic():
        bases = _reserve_numbers(calendar, counts)
        sink = open_sink(references=world.references())
        try:
            env = Env(
                world,
                calendar,
                rng,
                now,
                {t.level: thresholds_for(t.level) for t in world.topics},
                sink.new_id,
            )
            Run(env, sink, options.cases, progress, started).days(counts, bases)
            sink.finish()
        finally:
            sink.close()
    seconds = time.monotonic() - started
    _analyze()
    rollup_seconds = _rebuild_rollups(first, last, progress) if options.rollups else 0.0
    return Outcome(options.cases, dict(sink.counts), first, last, seconds, rollup_seconds)


def _analyze() -> None:
    """Refresh the planner's statistics: after a bulk load they describe the tables as they were, and
    every later query (the rollups' first) would be planned for a database a fraction of the size."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _reserve_numbers(calendar: Calendar, counts: list[int]) -> list[int]:
    """Advance each day's case counter by that day's count; the run numbers its cases after the old value.

    The counter rows stay locked until the run commits, so a case filed meanwhile on one of these days
    waits and then takes the number after ours (see docs/simulate.md)."""
    bases = []
    with connection.cursor() as cursor:
        for day, count in zip(calendar.days, counts, strict=False):
            if count == 0:
                bases.append(0)
                continue
            cursor.execute(_BUMP, [connection.ops.adapt_datefield_value(day), count])
            bases.append(int(cursor.fetchone()[0]) - count)
    return bases


def _rebuild_rollups(first: date, last: date, progress: Callable[[str], None] | None) -> float:
    """Fold the new cases into the statistics' rollups (the simulation bypassed the services' signal)."""
    from civicgrid.analytics import rollups

    started = time.monotonic()

    def report(done: int) -> None:
        if progress is not None and done % 100_000 < rollups.REBUILD_CHUNK:
            progress(_("汇总表重建：已处理 %(done)s 件") % {"done": f"{done:,}"})

    rollups.rebuild(start=first, end=last + timedelta(days=1), progress=report)
    return time.monotonic() - started


class Run:
    """Plays the cases day by day, in the order they arrive, and hands their rows to the sink."""

    def __init__(
        self, env: Env, sink: Sink, total: int, progress: Callable[[str], None] | None, started: float
    ) -> None:
        self.env, self.sink, self.total, self.progress, self.started = env, sink, total, progress, started
        self.intake = Intake(env, total)
        self.done, self.told = 0, started
        total_hours = sum(mix.HOURS)
        self.hours = [sum(mix.HOURS[: i + 1]) / total_hours for i in range(24)]
        self.work_hours = [sum(mix.WORK_HOURS[: i + 1]) for i in range(24)]

    def days(self, counts: list[int], bases: list[int]) -> None:
        for index, count in enumerate(counts):
            if count:
                self.day(index, count, bases[index])
        self._tell(final=True)

    def day(self, index: int, count: int, base: int) -> None:
        calendar, rng = self.env.calendar, self.env.rng
        start, stop = calendar.starts[index], min(calendar.starts[index + 1], self.env.now)
        arrivals = []
        for _n in range(count):
            channel = self.intake.channel()
            cum = self.work_hours if channel in mix.PROACTIVE or channel == "leader" else self.hours
            at = start + draw(rng, cum) * 3600 + rng.randrange(3600)
            arrivals.append((at if at < stop else start + rng.randrange(max(stop - start, 1)), channel))
        arrivals.sort()
        stamp = calendar.days[index].strftime("%Y%m%d")
        for offset, (at, channel) in enumerate(arrivals, start=1):
            self.case(f"{stamp}-{base + offset:06d}", at, channel)

    def case(self, number: str, at: int, channel: str) -> None:
        draft = self.intake.draft(
            case_id=self.sink.new_id("case"), number=number, created=at, channel=channel
        )
        story = draft.story
        if channel not in mix.PROACTIVE and self.env.rng.random() < mix.MERGE:
            target = self.intake.merge_target(at)
            if target is not None:
                story.plan["into"] = (target.id, target.number, target.description)
                draft.description = "再次反映：" + target.description
        story.record(Action.CREATE, at, actor=story.creator, to=Status.SUBMITTED, data={"channel": channel})
        plot.begin(story)
        story.play()
        emit(self.sink, draft, self.env.world)
        if "into" not in story.plan:
            self.intake.remember(Recent(story.id, number, draft.description, at, story.closed_at))
        self.done += 1
        if self.done % BATCH == 0:
            self.sink.flush()
            self._tell()

    def _tell(self, *, final: bool = False) -> None:
        moment = time.monotonic()
        if self.progress is None or (not final and moment - self.told < PROGRESS_EVERY):
            return
        self.told = moment
        rate = self.done / max(moment - self.started, 1e-9)
        share = self.done * 100 // max(self.total, 1)
        self.progress(
            _("模拟：%(done)s / %(total)s 件（%(share)d%%），%(rate)s 件/秒")
            % {"done": f"{self.done:,}", "total": f"{self.total:,}", "share": share, "rate": f"{rate:,.0f}"}
        )


def emit(sink: Sink, draft: Draft, world: World) -> None:
    """The case's rows as the services would have left them."""
    s, reporter, building = draft.story, draft.reporter, draft.building
    where = building or s.grid
    lat = round(where.lat, 6) if where.lat is not None else None
    lon = round(where.lon, 6) if where.lon is not None and lat is not None else None
    title, description = draft.title, draft.description
    item = s.topic.id if s.item_known or s.channel in mix.CLASSIFIED_AT_INTAKE else None
    if "rejected" in s.plan:
        title, description, _reason = s.plan["rejected"]
        item = None
    sink.add("case", (
        s.id, s.number, draft.tracking_code, s.kind, title, description, building.address if building else "",
        lat, lon, s.channel, s.proactive, reporter.name, reporter.phone, reporter.anonymous,
        reporter.confidential, s.status, s.created, s.accepted_at, s.respond_by, s.resolve_by, s.resolved_at,
        s.closed_at, s.supervised_at, len(s.events) - 1, len(s.events), building.id if building else None,
        s.creator, s.first_receiver, item, s.merged_into, s.owner, s.grid.id, s.callback_at, s.review_at,
        s.supervision,
    ))  # fmt: skip
    for event in s.events:
        sink.add("event", (s.id, *event))
    for j in s.jobs:
        sink.add("assignment", (j.id, s.id, j.unit, j.role, j.status, j.active, j.dispatched, j.respond_by,
                                j.resolve_by, j.acked, j.unreported, j.ended))  # fmt: skip
    for r in s.ratings:
        sink.add(
            "rating",
            (s.id, r.event_seq, r.satisfaction, r.solved, r.comment, r.channel, r.resolution_seq, r.at),
        )
    for e in s.extensions:
        sink.add("extension", (e.id, s.id, e.unit, e.days, e.reason, e.status, e.requested, e.decided))
    _timers(sink, s)


def _timers(sink: Sink, s: Story) -> None:
    """The timers the clock would hold: every one it fired, and those the case still waits for."""
    for (rule, due, job_id), fired in s.fired.items():
        sink.add("timer", (s.id, job_id, rule, due, fired))
    for rule, due, job in s.timers():
        key = (rule, due, job.id if job else None)
        if key not in s.fired:
            sink.add("timer", (s.id, key[2], rule, due, None))
