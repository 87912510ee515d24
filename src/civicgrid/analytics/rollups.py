"""Keep the rollups equal to the event log: mark changed cases, fold them in, rebuild on demand.

Every event that can change a figure writes a StaleCase marker in its own transaction (nothing is
lost if a process dies after the commit); the worker's job folds the marked cases in: it recomputes
each case's whole contribution (facts.py), adds new − old to the rollup rows and stores the new one.
Workers take markers with SKIP LOCKED and lock the cases' CaseFact rows in id order, so any number
of them may run, and a case changed again while being folded is simply folded once more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

from django.db import IntegrityError, connection, transaction

from civicgrid.analytics import facts
from civicgrid.analytics.models import (
    DAILY_COUNTERS,
    CaseFact,
    DailyFigure,
    DueFigure,
    MonthlyDueFigure,
    MonthlyFigure,
    PlaceDailyFigure,
    PlaceDueFigure,
    PlaceMonthlyDueFigure,
    PlaceMonthlyFigure,
    StaleCase,
)
from civicgrid.cases.models import Case, Event

BATCH = 500
REBUILD_CHUNK = 5000

_DAILY_KEY = ("day", "place_id", "handler_id", "item_id", "channel", "kind")
_DUE_KEY = (
    "due_day",
    "place_id",
    "handler_id",
    "item_id",
    "channel",
    "kind",
    "resolved_day",
    "ended_day",
    "on_time",
)


@dataclass(frozen=True)
class _Upsert:
    """Adding deltas to one rollup table: rows of key values then counters (a row created at zero
    when missing). On PostgreSQL all rows go in one statement, as one array per column (binding a
    statement per row took two thirds of a fold); elsewhere one statement per row."""

    model: type[Any]
    key: tuple[str, ...]
    counters: tuple[str, ...]

    def _statement(self, source: str) -> str:
        table = self.model._meta.db_table
        columns = ", ".join((*self.key, *self.counters))
        adds = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in self.counters)
        conflict = f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {adds}"
        return f"INSERT INTO {table} ({columns}) {source} {conflict}"

    @cached_property
    def by_row(self) -> str:
        return self._statement("VALUES (" + ", ".join(["%s"] * (len(self.key) + len(self.counters))) + ")")

    @cached_property
    def by_column(self) -> str:
        fields = [self.model._meta.get_field(name) for name in (*self.key, *self.counters)]
        arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)
        return self._statement(f"SELECT * FROM unnest({arrays})")

    def add(self, cursor: Any, rows: list[list[Any]]) -> None:
        """Add the rows (one per key), in key order: concurrent workers then lock the rows they
        share in one order."""
        if not rows:
            return
        rows.sort(key=lambda row: tuple(row[: len(self.key)]))
        if connection.vendor == "postgresql":
            cursor.execute(self.by_column, [list(column) for column in zip(*rows, strict=True)])
        else:
            cursor.executemany(self.by_row, rows)


# The upserts adding deltas to the full table, the due table and their two slim ones (the same rows
# without item, channel and kind), per day and per month.
_Tables = tuple[_Upsert, _Upsert, _Upsert, _Upsert]


def _statements(daily: type[Any], due: type[Any], place_daily: type[Any], place_due: type[Any]) -> _Tables:
    return (
        _Upsert(daily, _DAILY_KEY, DAILY_COUNTERS),
        _Upsert(due, _DUE_KEY, ("cases",)),
        _Upsert(place_daily, _DAILY_KEY[:3], DAILY_COUNTERS),
        _Upsert(place_due, (*_DUE_KEY[:3], *_DUE_KEY[6:]), ("cases",)),
    )


_BY_DAY = _statements(DailyFigure, DueFigure, PlaceDailyFigure, PlaceDueFigure)
_BY_MONTH = _statements(MonthlyFigure, MonthlyDueFigure, PlaceMonthlyFigure, PlaceMonthlyDueFigure)
ROLLUPS = (
    DailyFigure,
    DueFigure,
    PlaceDailyFigure,
    PlaceDueFigure,
    MonthlyFigure,
    MonthlyDueFigure,
    PlaceMonthlyFigure,
    PlaceMonthlyDueFigure,
)


def on_event_recorded(sender: object, *, case: Case, event: Event, **kwargs: Any) -> None:
    """Receiver of cases.signals.event_recorded: mark the case, in the event's own transaction."""
    if event.action in facts.FIGURE_ACTIONS:
        StaleCase.objects.create(case_id=case.pk)


def mark_stale(case_ids: Iterable[int]) -> None:
    """For code that writes cases without the services (imports, simulators): fold these in later."""
    StaleCase.objects.bulk_create([StaleCase(case_id=pk) for pk in set(case_ids)], batch_size=2000)


def refresh(*, limit: int = BATCH) -> int:
    """Fold in up to `limit` marked cases, in one transaction; returns how many markers it took."""
    with transaction.atomic():
        taken = list(
            StaleCase.objects.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "case_id")[:limit]
        )
        if not taken:
            return 0
        fold(sorted({case_id for _id, case_id in taken}))
        StaleCase.objects.filter(pk__in=[pk for pk, _case in taken]).delete()
    return len(taken)


def fold(case_ids: Sequence[int], *, until: date | None = None) -> None:
    """Recompute these cases' contributions and add the differences (inside a transaction); later
    cases whose 重复诉求 flag these decide are marked to be folded again (only those created from
    `until` on, when a rebuild folds the ones before it anyway)."""
    CaseFact.objects.bulk_create([CaseFact(case_id=pk) for pk in case_ids], ignore_conflicts=True)
    locked = CaseFact.objects.select_for_update().filter(case_id__in=case_ids).order_by("case_id")
    stored = {f.case_id: f for f in locked}
    found, near = facts.histories(case_ids)
    moved, changed = [], set()
    for pk, history in found.items():
        now, before = facts.neighbourhood(history.case), facts.stored_neighbourhood(stored[pk].neighbourhood)
        if before != now:
            # New to the rollups, or its phone, building, item or exclusion changed: only then can
            # the later cases' 重复诉求 flags change (following them on every fold would cascade).
            changed.add(pk)
            if before:
                moved.append((history.case, before))
        stored[pk].neighbourhood = now
    followers = near.followers(of=changed)
    followers.update(facts.moved_followers(moved))
    _follow({pk: at for pk, at in followers.items() if pk not in stored}, until=until)
    changes: dict[facts.Key, list[int]] = {}
    for pk in case_ids:
        fact = stored[pk]
        new = facts.contribution(found[pk]) if pk in found else {}
        for key, values in facts.delta(facts.from_json(fact.contributions), new).items():
            _accumulate(changes, key, values)
        fact.contributions = facts.to_json(new)
    apply(changes)
    _store(stored.values())


def _follow(followers: dict[int, datetime], *, until: date | None) -> None:
    if until is not None:
        followers = {pk: moment for pk, moment in followers.items() if facts.day_of(moment) >= until}
    if followers:
        mark_stale(followers)


def _fold_fresh(case_ids: Sequence[int], *, until: date | None) -> None:
    """fold() for cases that have no contribution yet (a full rebuild after emptying, or cases just
    loaded in bulk): nothing to lock, read or subtract. IntegrityError if one has a fact meanwhile."""
    found, near = facts.histories(case_ids)
    _follow(near.followers(), until=until)
    changes: dict[facts.Key, list[int]] = {}
    rows = []
    for pk, history in found.items():
        new = facts.contribution(history)
        for key, values in new.items():
            _accumulate(changes, key, values)
        rows.append(
            CaseFact(
                case_id=pk, contributions=facts.to_json(new), neighbourhood=facts.neighbourhood(history.case)
            )
        )
    apply(changes)
    CaseFact.objects.bulk_create(rows, batch_size=1000)


_FIELD = CaseFact._meta.get_field("contributions")
_STORE = f"UPDATE {CaseFact._meta.db_table} SET contributions = %s, neighbourhood = %s WHERE case_id = %s"


def _store(stored: Iterable[CaseFact]) -> None:
    """Write the new contributions: one plain UPDATE per row, sent together (bulk_update builds a
    CASE expression per row, slower than the work it saves)."""
    rows = [
        [
            _FIELD.get_db_prep_value(f.contributions, connection),
            _FIELD.get_db_prep_value(f.neighbourhood, connection),
            f.case_id,
        ]
        for f in stored
    ]
    with connection.cursor() as cursor:
        cursor.executemany(_STORE, rows)


def _accumulate(changes: dict[facts.Key, list[int]], key: facts.Key, values: Sequence[int]) -> None:
    row = changes.setdefault(key, [0] * len(values))
    for i, value in enumerate(values):
        row[i] += value


def apply(changes: dict[facts.Key, list[int]]) -> None:
    """Add each change to its rollup rows (created at zero when missing): the day's row and the
    month's, each in the full table and in the slim one."""
    monthly: dict[facts.Key, list[int]] = {}
    for key, values in changes.items():
        _accumulate(monthly, facts.month_key(key), values)
    with connection.cursor() as cursor:
        for upserts, keyed in ((_BY_DAY, changes), (_BY_MONTH, monthly)):
            for upsert, rows in zip(upserts, _rows(keyed), strict=True):
                upsert.add(cursor, rows)


def _rows(changes: dict[facts.Key, list[int]]) -> tuple[list[list[Any]], ...]:
    """The parameters of the four upserts (full, due, slim, slim due) for these changes."""
    day: Callable[[str], Any] = lambda text: connection.ops.adapt_datefield_value(date.fromisoformat(text))  # noqa: E731
    daily, due = [], []
    slim: dict[facts.Key, list[int]] = {}
    for key, values in changes.items():
        if not any(values):
            continue
        if key[0] == "d":
            daily.append([day(key[1]), *key[2:], *values])
            _accumulate(slim, ("d", *key[1:4]), values)
        else:
            due.append([day(key[1]), *key[2:7], day(key[7]), day(key[8]), key[9], *values])
            _accumulate(slim, ("u", *key[1:4], *key[7:]), values)
    place_daily = [[day(k[1]), *k[2:], *v] for k, v in slim.items() if k[0] == "d" and any(v)]
    place_due = [
        [day(k[1]), *k[2:4], day(k[4]), day(k[5]), k[6], *v]
        for k, v in slim.items()
        if k[0] == "u" and any(v)
    ]
    return daily, due, place_daily, place_due


def rebuild(
    *, start: date | None = None, end: date | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """Recompute the contribution of every case created in [start, end) (all cases when both are
    None: the rollups are emptied and written afresh). Figures do not change unless the rollups had
    drifted from the event log. Returns the number of cases folded."""
    cases = Case.objects.order_by("pk")
    everything = start is None and end is None
    if everything:
        _empty()
    if start is not None:
        cases = cases.filter(created_at__date__gte=start)
    if end is not None:
        cases = cases.filter(created_at__date__lt=end)
    done, last = 0, 0
    while True:
        ids = list(cases.filter(pk__gt=last).values_list("pk", flat=True)[:REBUILD_CHUNK])
        if not ids:
            return done
        with transaction.atomic():
            _fold_chunk(ids, everything=everything, until=end)
        done, last = done + len(ids), ids[-1]
        if progress is not None:
            progress(done)


def _fold_chunk(ids: list[int], *, everything: bool, until: date | None) -> None:
    """A full rebuild folds afresh and follows nobody (every case is folded by it); a partial one
    folds afresh too when none of the chunk has a fact yet (a bulk load), else (or when a worker
    folded one meanwhile) it adds differences; it follows only the cases after its last day."""
    if everything:
        return _fold_fresh(ids, until=date.max)
    if not CaseFact.objects.filter(case_id__in=ids).exists():
        try:
            with transaction.atomic():
                return _fold_fresh(ids, until=until)
        except IntegrityError:
            pass
    return fold(ids, until=until)


def _empty() -> None:
    """Start from nothing: markers written before now are covered by the rebuild itself."""
    with transaction.atomic():
        StaleCase.objects.all().delete()
        CaseFact.objects.all().delete()
        for model in ROLLUPS:
            model.objects.all().delete()
