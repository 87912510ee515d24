"""What each case contributes to the rollups, computed from its event log (the same definitions as
metrics.py, cut into days).

A contribution is a key (which rollup row) and a vector of counters to add there. A case's whole
contribution is recomputed from scratch whenever it changes, so the rollups are a pure function of
the event log: the fast path can always be rebuilt and checked against a direct recomputation.

Who the handler is (the "by handler" scope): the unit of the case's latest lead assignment, for
everything but four things that belong to one unit by nature: an assignment's response (its own
unit), a dispatch (the unit dispatched to), a return (the unit returning it) and the first
supervision (the unit it was addressed to).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from civicgrid.analytics.models import DAILY_COUNTERS, NEVER
from civicgrid.cases.models import Assignment, AssignmentRole, Case, Evaluation, Event, Satisfaction
from civicgrid.cases.states import Action

REPEAT_WINDOW = timedelta(days=30)

# Events that end a case's openness (超期 stops counting): 办结 and the terminal actions.
ENDS_OPEN = frozenset({Action.RESOLVE, Action.REJECT, Action.MERGE, Action.WITHDRAW, Action.CLOSE})
# Events counted by day; every other action changes no figure.
COUNTED = {
    Action.DISPATCH: "dispatches",
    Action.RETURN: "returns",
    Action.RESOLVE: "resolves",
    Action.REOPEN: "reopens",
}
# Actions after which a case's contribution may differ (the stale marker is written for these only).
FIGURE_ACTIONS = frozenset(
    {Action.ACCEPT, Action.ACKNOWLEDGE, Action.APPROVE_EXTENSION, Action.ESCALATE, Action.SUMMON}
    | set(COUNTED)
    | ENDS_OPEN
    | {Action.EVALUATE, Action.SUPERVISE, "exclude"}
)

_INDEX = {name: i for i, name in enumerate(DAILY_COUNTERS)}

# A rollup key: ("d", day, place, handler, item, channel, kind) for DailyFigure;
# ("u", due_day, place, handler, item, channel, kind, resolved_day, ended_day, on_time) for DueFigure.
Key = tuple[Any, ...]
Contribution = dict[Key, tuple[int, ...]]


def month_key(key: Key) -> Key:
    """The key of the monthly rollup row a daily key adds to: each ISO day as its month's first."""

    def first(text: str) -> str:
        return text[:8] + "01"  # '2026-10-17' → '2026-10-01'

    if key[0] == "d":
        return (key[0], first(key[1]), *key[2:])
    return (key[0], first(key[1]), *key[2:7], first(key[7]), first(key[8]), *key[9:])


def day_of(moment: datetime) -> date:
    """The local (Asia/Shanghai) calendar day of a moment: periods are cut at local midnight."""
    return moment.astimezone(timezone.get_default_timezone()).date()


@dataclass
class History:
    """What is read of one case to compute its contribution."""

    case: dict[str, Any]
    events: list[Mapping[str, Any]] = field(default_factory=list)
    assignments: list[Mapping[str, Any]] = field(default_factory=list)
    evaluations: list[Mapping[str, Any]] = field(default_factory=list)
    repeat: bool = False


_CASE_FIELDS = (
    "id",
    "place_id",
    "item_id",
    "channel",
    "kind",
    "proactive",
    "resolve_by",
    "reporter_phone",
    "building_id",
    "created_at",
    "excluded_at",
)


def histories(case_ids: Sequence[int]) -> tuple[dict[int, History], Neighbours]:
    """The histories of these cases (in seven queries whatever their number), and their neighbours:
    the later cases whose 重复诉求 flag these cases decide (Neighbours.followers)."""
    found = {
        row["id"]: History(case=row) for row in Case.objects.filter(pk__in=case_ids).values(*_CASE_FIELDS)
    }
    ids = list(found)
    read = [*COUNTED, *ENDS_OPEN, Action.ACCEPT, Action.SUPERVISE]
    events = Event.objects.filter(case_id__in=ids, action__in=read)
    row: Mapping[str, Any]
    for row in events.order_by("case_id", "seq").values("case_id", "action", "at", "unit_id"):
        found[row["case_id"]].events.append(row)
    assignments = Assignment.objects.filter(case_id__in=ids).order_by("case_id", "dispatched_at", "id")
    for row in assignments.values("case_id", "unit_id", "role", "respond_by", "acknowledged_at"):
        found[row["case_id"]].assignments.append(row)
    evaluations = Evaluation.objects.filter(case_id__in=ids).order_by("case_id", "at")
    for row in evaluations.values("case_id", "at", "satisfaction", "solved"):
        found[row["case_id"]].evaluations.append(row)
    near = Neighbours([h.case for h in found.values()])
    for history in found.values():
        history.repeat = near.repeats(history.case)
    return found, near


class Neighbours:
    """The cases sharing a phone, or a building and item, with a batch: two queries for the batch.

    重复诉求: a case repeats when an earlier case (any status, but not excluded from the figures)
    within 30 days before it has the same phone, or is in the same building about the same item;
    ties in time go by id.
    """

    def __init__(self, batch: list[dict[str, Any]]) -> None:
        self.batch = batch
        phones = {c["reporter_phone"] for c in batch if c["reporter_phone"]}
        buildings = {c["building_id"] for c in batch if c["building_id"] and c["item_id"]}
        self.by_phone: dict[Any, list[tuple[datetime, int]]] = defaultdict(list)
        self.by_place: dict[Any, list[tuple[datetime, int]]] = defaultdict(list)
        # Only the cases that can be within 30 days of one of the batch: a building or a phone may
        # have years of history.
        times = [c["created_at"] for c in batch]
        counted = Case.objects.filter(excluded_at__isnull=True)
        if times:
            counted = counted.filter(
                created_at__gte=min(times) - REPEAT_WINDOW, created_at__lte=max(times) + REPEAT_WINDOW
            )
        if phones:
            rows = counted.filter(reporter_phone__in=phones)
            for phone, moment, pk in rows.values_list("reporter_phone", "created_at", "id"):
                self.by_phone[phone].append((moment, pk))
        if buildings:
            items = {c["item_id"] for c in batch if c["building_id"] and c["item_id"]}
            others = counted.filter(building_id__in=buildings, item_id__in=items)
            for building, item, moment, pk in others.values_list(
                "building_id", "item_id", "created_at", "id"
            ):
                self.by_place[(building, item)].append((moment, pk))

    def _around(self, case: dict[str, Any]) -> list[tuple[datetime, int]]:
        same_phone = self.by_phone.get(case["reporter_phone"], []) if case["reporter_phone"] else []
        place = (case["building_id"], case["item_id"])
        same_place = self.by_place.get(place, []) if all(place) else []
        return same_phone + same_place

    def repeats(self, case: dict[str, Any]) -> bool:
        mine = (case["created_at"], case["id"])
        return any(mine[0] - REPEAT_WINDOW <= other[0] and other < mine for other in self._around(case))

    def followers(self, of: Collection[int] | None = None) -> dict[int, datetime]:
        """Cases after one of the batch (of those whose ids are `of`, when given), within 30 days of
        it, sharing its phone or building and item, and not in the batch: their ids, with when they
        were created."""
        out: dict[int, datetime] = {}
        mine = {case["id"] for case in self.batch}
        for case in self.batch:
            if of is not None and case["id"] not in of:
                continue
            start = (case["created_at"], case["id"])
            out.update(
                (o[1], o[0])
                for o in self._around(case)
                if start < o and o[0] <= start[0] + REPEAT_WINDOW and o[1] not in mine
            )
        return out


def neighbourhood(case: Mapping[str, Any]) -> list[Any]:
    """What decides which later cases a case makes repeats (CaseFact.neighbourhood): its phone,
    building and item, and whether it is excluded (an excluded case is nobody's earlier case). Its
    creation time never changes."""
    return [
        case["reporter_phone"],
        case["building_id"] or 0,
        case["item_id"] or 0,
        int(bool(case["excluded_at"])),
    ]


def stored_neighbourhood(stored: list[Any]) -> list[Any]:
    """CaseFact.neighbourhood as neighbourhood() gives it; facts folded before the exclusion flag
    was kept hold three items and read as not excluded ([] for a case never folded)."""
    return [*stored, 0] if len(stored) == 3 else stored


def moved_followers(moved: list[tuple[dict[str, Any], list[Any]]]) -> dict[int, datetime]:
    """The later cases that repeated these under their former phone, building or item."""
    former = [
        {**case, "reporter_phone": old[0], "building_id": old[1] or None, "item_id": old[2] or None}
        for case, old in moved
    ]
    return Neighbours(former).followers() if former else {}


def handler_of(history: History) -> int:
    """The unit of the latest lead assignment, 0 when the case never had one."""
    leads = [a["unit_id"] for a in history.assignments if a["role"] == AssignmentRole.LEAD]
    return leads[-1] if leads else 0


def contribution(history: History) -> Contribution:
    """Every rollup row this case adds to, with what it adds; nothing for an excluded case."""
    case = history.case
    if case["excluded_at"] is not None:
        return {}
    handler = handler_of(history)
    dims = (case["place_id"], case["item_id"] or 0, case["channel"], case["kind"])
    out: dict[Key, list[int]] = defaultdict(lambda: [0] * len(DAILY_COUNTERS))

    def add(moment: datetime, unit: int, **counters: int) -> None:
        row = out[("d", day_of(moment).isoformat(), dims[0], unit, *dims[1:])]
        for name, value in counters.items():
            row[_INDEX[name]] += value

    _accepted(history, handler, add)
    supervisions = [e for e in history.events if e["action"] == Action.SUPERVISE]
    if supervisions:
        add(supervisions[0]["at"], supervisions[0]["unit_id"] or 0, supervised=1)
    for a in history.assignments:
        answered = a["acknowledged_at"] is not None and a["acknowledged_at"] <= a["respond_by"]
        add(a["respond_by"], a["unit_id"], assigned=1, responded=int(answered))
    for e in history.events:
        if e["action"] in COUNTED:
            own = e["action"] in (Action.DISPATCH, Action.RETURN)
            add(e["at"], (e["unit_id"] or 0) if own else handler, **{COUNTED[e["action"]]: 1})
    for v in history.evaluations:
        add(
            v["at"],
            handler,
            evaluations=1,
            satisfied=int(v["satisfaction"] == Satisfaction.SATISFIED),
            basically=int(v["satisfaction"] == Satisfaction.BASICALLY),
            solved=int(v["solved"]),
        )
    result: Contribution = {key: tuple(row) for key, row in out.items()}
    due = _due_key(history, handler, dims)
    if due is not None:
        result[due] = (1,)
    return result


def _accepted(history: History, handler: int, add: Any) -> None:
    accepts = [e["at"] for e in history.events if e["action"] == Action.ACCEPT]
    if accepts:
        case = history.case
        add(accepts[0], handler, accepted=1, proactive=int(case["proactive"]), repeated=int(history.repeat))


def _due_key(history: History, handler: int, dims: tuple[Any, ...]) -> Key | None:
    """The DueFigure row of a case with a resolution deadline (应办结 on that day)."""
    resolve_by = history.case["resolve_by"]
    if resolve_by is None:
        return None
    resolved = [e["at"] for e in history.events if e["action"] == Action.RESOLVE]
    ended = [e["at"] for e in history.events if e["action"] in ENDS_OPEN]
    on_time = bool(resolved) and resolved[0] <= resolve_by
    return (
        "u",
        day_of(resolve_by).isoformat(),
        dims[0],
        handler,
        *dims[1:],
        day_of(resolved[0]).isoformat() if resolved else NEVER.isoformat(),
        day_of(ended[0]).isoformat() if ended else NEVER.isoformat(),
        on_time,
    )


def to_json(contrib: Contribution) -> list[list[Any]]:
    """A contribution as CaseFact stores it: [key…, counters…] with the key's length first."""
    return [[len(key), *key, *values] for key, values in contrib.items()]


def from_json(stored: list[list[Any]]) -> Contribution:
    """A stored contribution; daily rows stored before a counter was added read 0 for it."""
    out: Contribution = {}
    for row in stored:
        key, values = tuple(row[1 : 1 + row[0]]), tuple(row[1 + row[0] :])
        if key[0] == "d":
            values += (0,) * (len(DAILY_COUNTERS) - len(values))
        out[key] = values
    return out


def delta(old: Contribution, new: Contribution) -> Contribution:
    """new − old, per key and counter: what to add to the rollups (negative where a row shrinks)."""
    out: dict[Key, list[int]] = {}
    for sign, contrib in ((-1, old), (1, new)):
        for key, values in contrib.items():
            row = out.setdefault(key, [0] * len(values))
            for i, value in enumerate(values):
                row[i] += sign * value
    return {key: tuple(row) for key, row in out.items() if any(row)}
