"""A row's history as the case engine would have written it: the steps its status implies, at the
file's times, and the case, assignment and evaluation fields those steps leave behind.

Steps follow the transition table (cases/states.py) from 'create' to the row's status. A step whose
time the file leaves empty takes the time of the step before it (a missing 签收时间 makes the unit
answer at once: map the column to keep 响应率 exact); 办结时间 is required of every resolved case,
since 按期办结率 depends on it. Deadlines the file does not give come from the item, as intake sets them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases.deadlines import resolve_deadline, response_deadline
from civicgrid.cases.models import AssignmentStatus, Satisfaction
from civicgrid.cases.states import Action, Status, evaluate_target, next_status
from civicgrid.catalogue.models import Item
from civicgrid.ops.import_cases.cells import CellReader, Lookups
from civicgrid.ops.import_cases.rows import CaseRow
from civicgrid.org.models import Unit

A, S = Action, Status
Outcome = tuple[Unit | None, str, dict[str, Any]]  # a step's event: its unit, note and data
# The time field each step reads from the file.
TIME_OF = {
    A.CREATE: "created_at",
    A.ACCEPT: "accepted_at",
    A.DISPATCH: "dispatched_at",
    A.ACKNOWLEDGE: "acknowledged_at",
    A.RESOLVE: "resolved_at",
    A.EVALUATE: "evaluated_at",
    A.CLOSE: "closed_at",
    A.REJECT: "closed_at",
    A.WITHDRAW: "closed_at",
}
HANDLED = (A.ACCEPT, A.DISPATCH, A.ACKNOWLEDGE)
PATHS: dict[str, tuple[Action, ...]] = {
    S.SUBMITTED: (),
    S.ACCEPTED: (A.ACCEPT,),
    S.DISPATCHED: (A.ACCEPT, A.DISPATCH),
    S.IN_PROGRESS: HANDLED,
    S.RESOLVED: (*HANDLED, A.RESOLVE),
    S.CLOSED: (*HANDLED, A.RESOLVE),
    S.REJECTED: (A.REJECT,),
}


@dataclass(frozen=True)
class Step:
    action: Action
    at: datetime
    status: Status  # after the step
    unit: Unit | None = None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """What the writer stores: the steps (events 1…n), the case's fields, its lead assignment."""

    steps: list[Step] = field(default_factory=list)
    case: dict[str, Any] = field(default_factory=dict)
    assignment: dict[str, Any] | None = None


class Deadlines:
    """intake's deadlines (cases.services.deadlines), one calendar read per day and length, not per row."""

    def __init__(self) -> None:
        self._resolve: dict[tuple[date, int], datetime] = {}

    def of(self, item: Item | None, start: datetime) -> tuple[datetime, datetime]:
        hours = item.response_hours if item is not None else settings.DEFAULT_RESPONSE_HOURS
        days = item.resolve_days if item is not None else settings.DEFAULT_RESOLVE_DAYS
        key = (timezone.localtime(start).date(), days)
        if key not in self._resolve:
            self._resolve[key] = resolve_deadline(start, days)
        return response_deadline(start, hours), self._resolve[key]


def actions_for(row: CaseRow) -> list[Action]:
    """The steps after 'create' that lead to the row's status."""
    if row.status == S.WITHDRAWN:
        handled = [A.ACCEPT] if row.handler or "accepted_at" in row.times else []
        if row.handler is not None:
            handled += [A.DISPATCH] + ([A.ACKNOWLEDGE] if "acknowledged_at" in row.times else [])
        return [*handled, A.WITHDRAW]
    actions = list(PATHS[row.status])
    if A.RESOLVE in actions and row.handler is None:
        # Resolved without a handling unit: the grid finished it on the spot (小事一格解决).
        actions = [A.ACCEPT, A.RESOLVE]
    if row.rating is not None:
        actions.append(A.EVALUATE)
    if row.status == S.CLOSED and (
        row.rating is None or row.rating.satisfaction == Satisfaction.DISSATISFIED
    ):
        actions.append(A.CLOSE)  # a content rating closes the case itself
    return actions


def check_consistency(row: CaseRow, reader: CellReader) -> bool:
    """Whether the status, handler and rating fit together (every misfit is a problem)."""
    label = Status(row.status).label
    if row.status in (S.DISPATCHED, S.IN_PROGRESS) and row.handler is None:
        reader.fail("handler", _("状态为“%(status)s”的诉求须有承办单位") % {"status": label})
    if row.status in (S.RESOLVED, S.CLOSED) and "resolved_at" not in row.times:
        reader.fail("resolved_at", _("状态为“%(status)s”的诉求须有办结时间") % {"status": label})
    if row.rating is not None and row.status not in (S.RESOLVED, S.CLOSED):
        reader.fail("satisfaction", _("状态为“%(status)s”的诉求尚未办结，不能有评价") % {"status": label})
    elif row.rating and row.status == S.RESOLVED and row.rating.satisfaction != Satisfaction.DISSATISFIED:
        message = _("满意或基本满意的评价会使诉求归档，状态却是“%(status)s”：请把该状态映射为 closed")
        reader.fail("satisfaction", message % {"status": label})
    return not reader.problems


def step_times(row: CaseRow, actions: list[Action], reader: CellReader, now: datetime) -> list[datetime]:
    """Each step's time: the file's, else the step before's; never before that one, never in the future."""
    times: list[datetime] = []
    previous: tuple[str, datetime] | None = None
    for action in [A.CREATE, *actions]:
        name = TIME_OF[action]
        given = row.times.get(name)
        if given is not None and given > now:
            reader.fail(name, _("时间 %(at)s 晚于现在") % {"at": _shown(given)})
        if given is not None and previous is not None and given < previous[1]:
            message = _("时间 %(at)s 早于前一步骤（%(before)s）的 %(then)s")
            spec = reader.spec(previous[0])
            before = spec.label if spec else previous[0]
            reader.fail(name, message % {"at": _shown(given), "before": before, "then": _shown(previous[1])})
        moment = given or (previous[1] if previous else now)
        if given is not None or previous is None:
            previous = (name, moment)
        times.append(moment)
    return times


def _shown(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def build(
    row: CaseRow, reader: CellReader, lookups: Lookups, deadlines: Deadlines, now: datetime
) -> Plan | None:
    """The row's plan, or None with problems in `reader` when its facts do not make a history."""
    if not check_consistency(row, reader):
        return None
    actions = actions_for(row)
    times = step_times(row, actions, reader, now)
    if reader.problems:
        return None
    builder = _Builder(row, lookups, deadlines)
    for action, at in zip([A.CREATE, *actions], times, strict=True):
        builder.step(action, at)
    return builder.finish()


class _Builder:
    """Walks the steps, keeping the case's fields as the services would have left them after each."""

    def __init__(self, row: CaseRow, lookups: Lookups, deadlines: Deadlines) -> None:
        self.row, self.lookups, self.deadlines = row, lookups, deadlines
        self.plan = Plan()
        self.status: Status = S.SUBMITTED
        self.case: dict[str, Any] = {"owner": None}
        self.assignment: dict[str, Any] | None = None
        self.handlers: dict[Action, Callable[[datetime], Outcome]] = {
            A.CREATE: self._create,
            A.ACCEPT: self._accept,
            A.DISPATCH: self._dispatch,
            A.ACKNOWLEDGE: self._acknowledge,
            A.RESOLVE: self._resolve,
            A.EVALUATE: self._evaluate,
            A.CLOSE: self._close,
            A.REJECT: self._reject,
            A.WITHDRAW: self._withdraw,
        }

    def step(self, action: Action, at: datetime) -> None:
        target = self._target(action)
        unit, note, data = self.handlers[action](at)
        self.plan.steps.append(Step(action, at, target, unit, note, data))
        self.status = target

    def _target(self, action: Action) -> Status:
        if action == A.CREATE:
            return S.SUBMITTED
        if action == A.EVALUATE:
            assert self.row.rating is not None
            return evaluate_target(dissatisfied=self.row.rating.satisfaction == Satisfaction.DISSATISFIED)
        return next_status(action, self.status)

    def _create(self, at: datetime) -> Outcome:
        return None, "", {"channel": self.row.channel}

    def _accept(self, at: datetime) -> Outcome:
        owner = self.lookups.district_of(self.row.place)
        respond_by, resolve_by = self.deadlines.of(self.row.item, at)
        self.case.update(accepted_at=at, owner=owner, respond_by=respond_by, resolve_by=resolve_by)
        return owner, "", {"item": self.row.item.code if self.row.item else None}

    def _dispatch(self, at: datetime) -> Outcome:
        lead = self.row.handler
        assert lead is not None
        respond_by = self.deadlines.of(self.row.item, at)[0]
        self.case.update(owner=lead, respond_by=respond_by)
        self.assignment = {"unit": lead, "dispatched_at": at, "respond_by": respond_by, "active": True}
        self.assignment["status"] = AssignmentStatus.PENDING
        return lead, "", {"lead": lead.code, "assist": []}

    def _acknowledge(self, at: datetime) -> Outcome:
        assert self.assignment is not None
        self.assignment.update(status=AssignmentStatus.ACKNOWLEDGED, acknowledged_at=at)
        late = at > (self.row.respond_by or self.assignment["respond_by"])
        return self.assignment["unit"], "", {"role": "lead", "late": late}

    def _resolve(self, at: datetime) -> Outcome:
        on_the_spot = self.assignment is None
        if self.assignment is None:
            # As case_resolve records on-the-spot handling: the grid's acknowledged lead assignment.
            respond_by = self.deadlines.of(self.row.item, at)[0]
            self.assignment = {"unit": self.row.place, "dispatched_at": at, "respond_by": respond_by}
            self.assignment.update(active=True, acknowledged_at=at)
        self.assignment.update(status=AssignmentStatus.RESOLVED, ended_at=at)
        unit = self.assignment["unit"]
        self.case.update(resolved_at=at, owner=unit)
        return unit, self.row.result, {"on_the_spot": on_the_spot}

    def _evaluate(self, at: datetime) -> Outcome:
        rating = self.row.rating
        assert rating is not None
        dissatisfied = rating.satisfaction == Satisfaction.DISSATISFIED
        self.case.update(review_requested_at=at if dissatisfied else None)
        if not dissatisfied:
            self.case["closed_at"] = at
        seq = len(self.plan.steps)  # the resolve step just before this one: its event's seq
        data = {"satisfaction": rating.satisfaction, "solved": rating.solved, "channel": rating.channel}
        return None, rating.comment, {**data, "resolution_seq": seq}

    def _close(self, at: datetime) -> Outcome:
        self.case.update(closed_at=at, review_requested_at=None)
        return None, "", {}

    def _reject(self, at: datetime) -> Outcome:
        self.case["closed_at"] = at
        return None, self.row.reason, {}

    def _withdraw(self, at: datetime) -> Outcome:
        self.case["closed_at"] = at
        if self.assignment is not None:
            self.assignment.update(active=False, status=AssignmentStatus.ENDED, ended_at=at)
        return None, self.row.reason, {}

    def finish(self) -> Plan:
        """The file's own deadlines win over the item's; the lead assignment shares the case's."""
        if "accepted_at" in self.case:
            self.case["respond_by"] = self.row.respond_by or self.case["respond_by"]
            self.case["resolve_by"] = self.row.resolve_by or self.case["resolve_by"]
        if self.assignment is not None:
            self.assignment["respond_by"] = self.row.respond_by or self.assignment["respond_by"]
            self.assignment["resolve_by"] = self.case["resolve_by"]
        self.case["status"] = self.status
        self.plan.case, self.plan.assignment = self.case, self.assignment
        return self.plan
