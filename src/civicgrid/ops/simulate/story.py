"""One simulated case: its state, the events it records and the clock's rules, mirroring cases.services.

Every event goes through `Story.record`, which does what services._core.record does (one event, seq + 1,
version + 1, from → to status). Clock timers are planned as cases.timers.desired_timers plans them and
fired, when their moment comes before the next human step, as cases.services.clock fires them.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from civicgrid.cases.models import AssignmentStatus, ExtensionRequest
from civicgrid.cases.states import WITH_UNIT, Action, Status
from civicgrid.cases.timers import OPEN_ASSIGNMENT, PLANNED, UNFINISHED, Thresholds
from civicgrid.ops.simulate import clock
from civicgrid.ops.simulate.calendar import Calendar
from civicgrid.ops.simulate.world import Place, Topic, World

S = Status
A = Action
AS = AssignmentStatus
ER = ExtensionRequest.Status
PENDING, ACKED = AS.PENDING.value, AS.ACKNOWLEDGED.value
EventRow = tuple[int, str, int | None, int | None, str, str, str, str, bool, int]


@dataclass(slots=True)
class Job:
    """An assignment (cases.Assignment) and when its unit means to report in."""

    id: int
    unit: int
    role: str
    dispatched: int
    respond_by: int
    resolve_by: int
    ack_at: int | None
    status: str = PENDING
    active: bool = True
    acked: int | None = None
    unreported: int | None = None
    ended: int | None = None


@dataclass(slots=True)
class Extension:
    id: int
    unit: int
    days: int
    reason: str
    requested: int
    status: str = ER.PENDING.value
    decided: int | None = None


@dataclass(slots=True)
class Rating:
    event_seq: int
    satisfaction: str
    solved: bool
    comment: str
    channel: str
    resolution_seq: int
    at: int


@dataclass
class Env:
    """What every story of a run shares."""

    world: World
    calendar: Calendar
    rng: random.Random
    now: int
    limits: dict[int, Thresholds]
    new_id: Callable[[str], int]


Step = Callable[["Story", int], None]


@dataclass
class Story:
    """A case from its creation to `env.now`: its fields (as cases.Case) and what it wrote on the way."""

    env: Env
    id: int
    number: str
    created: int
    channel: str
    kind: str
    proactive: bool
    topic: Topic
    grid: Place
    creator: int | None
    status: str = S.SUBMITTED.value
    item_known: bool = False
    owner: int | None = None
    first_receiver: int | None = None
    accepted_at: int | None = None
    respond_by: int | None = None
    resolve_by: int | None = None
    resolved_at: int | None = None
    closed_at: int | None = None
    supervised_at: int | None = None
    supervision: str = ""
    callback_at: int | None = None
    review_at: int | None = None
    merged_into: int | None = None
    events: list[EventRow] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    fired: dict[tuple[str, float, int | None], int] = field(default_factory=dict)
    agenda: list[tuple[int, int, Step]] = field(default_factory=list)
    last_resolve_seq: int | None = None
    rated: bool = False
    # What the human side of the story intends (decided as it goes, see plot.py).
    plan: dict[str, Any] = field(default_factory=dict)
    _order: int = 0
    _t: int = 0

    # The event log.

    def record(
        self,
        action: Action,
        at: int,
        *,
        actor: int | None,
        unit: int | None = None,
        to: str | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
        public: bool = True,
    ) -> int:
        """Append one event (services._core.record); returns its seq."""
        at = max(at, self._t + 1)  # events of a case are strictly ordered in time
        self._t = at
        before = self.status if self.events else ""
        if to is not None:
            self.status = to
        seq = len(self.events) + 1
        payload = _json(data) if data else "{}"
        self.events.append((seq, action.value, actor, unit, before, self.status, note, payload, public, at))
        return seq

    @property
    def t(self) -> int:
        """The moment of the latest event."""
        return self._t

    # Assignments.

    def lead(self) -> Job | None:
        return next((j for j in self.jobs if j.active and j.role == "lead"), None)

    def assign(self, unit: int, role: str, at: int, ack_at: int | None) -> Job:
        hours = self.topic.response_hours
        fresh = self.env.calendar.resolve_deadline(at, self.topic.resolve_days)
        job = Job(
            self.env.new_id("assignment"), unit, role, at, at + hours * 3600, self.resolve_by or fresh, ack_at
        )
        self.jobs.append(job)
        return job

    def end_jobs(self, at: int, *, role: str | None = None) -> None:
        for job in self.jobs:
            if job.active and (role is None or job.role == role):
                job.active, job.status, job.ended = False, AS.ENDED.value, at

    def pending_extension(self) -> Extension | None:
        return next((e for e in self.extensions if e.status == ER.PENDING.value), None)

    def lapse_extension(self, at: int) -> None:
        waiting = self.pending_extension()
        if waiting is not None:
            waiting.status, waiting.decided = ER.LAPSED.value, at

    # The human agenda and the clock, interleaved in time up to env.now.

    def then(self, at: int, step: Step) -> None:
        self._order += 1
        heapq.heappush(self.agenda, (at, self._order, step))

    def play(self) -> None:
        now = self.env.now
        while True:
            clock = self._next_timer()
            human = self.agenda[0][0] if self.agenda else None
            if clock is not None and (human is None or clock[0] <= human):
                if clock[0] > now:
                    return
                self._fire(clock)
                continue
            if human is None or human > now:
                return
            at, _order, step = heapq.heappop(self.agenda)
            step(self, max(at, self._t + 1))

    def _next_timer(self) -> tuple[int, str, float, Job | None] | None:
        best: tuple[int, str, float, Job | None] | None = None
        fired = self.fired
        for rule, due, job in self.timers():
            # The worker's sweep picks a due timer up within seconds.
            at = int(due) + 1 + int(due) % 53
            if (best is None or at < best[0]) and (rule, due, job.id if job else None) not in fired:
                best = (at, rule, due, job)
        if best is not None and best[0] <= self._t:
            best = (self._t + 1, *best[1:])
        return best

    def timers(self) -> list[tuple[str, float, Job | None]]:
        """cases.timers.desired_timers for the case as it is now."""
        if self.status not in PLANNED:
            return []
        limits = self.env.limits[self.topic.level]
        planned: list[tuple[str, float, Job | None]] = []
        if self.status in WITH_UNIT:
            for job in self.jobs:
                if job.active:
                    planned += self._job_timers(job, limits)
            waiting = self.pending_extension()
            if waiting is not None:
                planned.append(
                    ("extension_reminder", waiting.requested + _secs(limits.extension_remind_after), None)
                )
        if self.status in UNFINISHED and self.resolve_by is not None:
            planned.append(("overdue", self.resolve_by, None))
            if self.status in WITH_UNIT:
                planned.append(("escalation", self._escalation_moment(limits), None))
        if self.status == S.RESOLVED and not self.rated and self.resolved_at is not None:
            planned.append(("rating_request", self.resolved_at, None))
            planned.append(("callback", self.resolved_at + _secs(limits.callback_after), None))
        return planned

    def _job_timers(self, job: Job, limits: Thresholds) -> list[tuple[str, float, Job | None]]:
        planned: list[tuple[str, float, Job | None]] = []
        if job.status == PENDING:
            warn = _share(job.dispatched, job.respond_by, limits.warn_share)
            planned += [
                ("response_warning", warn, job),
                ("response_overdue", job.respond_by, job),
                ("not_reported", job.respond_by + _secs(limits.not_reported_after), job),
            ]
        if job.status in OPEN_ASSIGNMENT and self.accepted_at is not None:
            warn = _share(self.accepted_at, job.resolve_by, limits.warn_share)
            if warn > job.dispatched:
                planned.append(("resolution_warning", warn, job))
        return planned

    def _escalation_moment(self, limits: Thresholds) -> int:
        assert self.resolve_by is not None
        if limits.escalate_after_hours > 0:
            return self.resolve_by + int(limits.escalate_after_hours * 3600)
        return self.env.calendar.extend_deadline(self.resolve_by, limits.escalate_after_working_days)

    def _fire(self, timer: tuple[int, str, float, Job | None]) -> None:
        at, rule, due, job = timer
        self.fired[(rule, due, job.id if job else None)] = at
        clock.FIRES[rule](self, at, job)


def _share(start: int, end: int, share: float) -> float:
    """timers._share to the microsecond (a timedelta times a float), so the keys match the planner's."""
    return start + (timedelta(seconds=end - start) * share).total_seconds()


_PAYLOADS: dict[tuple[Any, ...], str] = {}


def _json(data: dict[str, Any]) -> str:
    """json.dumps, as Django's JSONField writes it; the few shapes that repeat are encoded once."""
    try:
        key = tuple(data.items())
        found = _PAYLOADS.get(key)
    except TypeError:  # a list inside: not cacheable
        return json.dumps(data)
    if found is None:
        found = json.dumps(data)
        if len(_PAYLOADS) < 100_000:
            _PAYLOADS[key] = found
    return found


def _secs(delta: Any) -> int:
    return int(delta.total_seconds())
