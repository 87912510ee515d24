"""A simulated case as table rows, formatted for PostgreSQL's COPY (text) or SQLite's executemany."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# (table, columns) in the order rows are written; evaluations go to a staging table first, because
# they point at their event's id, which the database assigns (see writer.py).
CASE_COLUMNS = [
    "id",
    "number",
    "tracking_code",
    "kind",
    "title",
    "description",
    "address",
    "lat",
    "lon",
    "channel",
    "proactive",
    "reporter_name",
    "reporter_phone",
    "reporter_anonymous",
    "reporter_confidential",
    "status",
    "created_at",
    "accepted_at",
    "respond_by",
    "resolve_by",
    "resolved_at",
    "closed_at",
    "supervised_at",
    "version",
    "last_seq",
    "building_id",
    "created_by_id",
    "first_receiver_id",
    "item_id",
    "merged_into_id",
    "owner_id",
    "place_id",
    "callback_requested_at",
    "review_requested_at",
    "supervision",
]
EVENT_COLUMNS = [
    "case_id",
    "seq",
    "action",
    "actor_id",
    "unit_id",
    "from_status",
    "to_status",
    "note",
    "data",
    "public",
    "at",
]
ASSIGNMENT_COLUMNS = [
    "id",
    "case_id",
    "unit_id",
    "role",
    "status",
    "active",
    "dispatched_at",
    "respond_by",
    "resolve_by",
    "acknowledged_at",
    "unreported_at",
    "ended_at",
]
RATING_COLUMNS = [
    "case_id",
    "event_seq",
    "satisfaction",
    "solved",
    "comment",
    "channel",
    "resolution_seq",
    "at",
]
EXTENSION_COLUMNS = ["id", "case_id", "unit_id", "days", "reason", "status", "requested_at", "decided_at"]
TIMER_COLUMNS = ["case_id", "assignment_id", "rule", "due_at", "fired_at"]

# Which columns hold epoch seconds (written as timestamps) and which booleans, by table.
TIMES = {
    "created_at", "accepted_at", "respond_by", "resolve_by", "resolved_at", "closed_at", "supervised_at",
    "callback_requested_at", "review_requested_at", "at", "dispatched_at", "acknowledged_at",
    "unreported_at", "ended_at", "requested_at", "decided_at", "due_at", "fired_at",
}  # fmt: skip
BOOLS = {"proactive", "reporter_anonymous", "reporter_confidential", "public", "active", "solved"}
TEXTS = {
    "number", "tracking_code", "kind", "title", "description", "address", "channel", "reporter_name",
    "reporter_phone", "status", "supervision", "action", "from_status", "to_status", "note", "data",
    "role", "satisfaction", "comment", "reason", "rule",
}  # fmt: skip

_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Timestamps:
    """Epoch seconds as UTC text, one date per day computed once (this runs tens of millions of times)."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.dates: dict[int, str] = {}

    def __call__(self, moment: float) -> str:
        if type(moment) is not int:  # a timer's due moment may fall inside a second
            whole = int(moment)
            return (
                self(whole)[: -len(self.suffix) or None]
                + f".{round((moment - whole) * 1e6):06d}"
                + self.suffix
            )
        day, second = divmod(moment, 86400)
        date = self.dates.get(day)
        if date is None:
            date = self.dates[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d ")
        return date + _HMS[second] + self.suffix


def copy_text(value: str) -> str:
    """A text field escaped for COPY's text format (our own vocabulary never needs it; names might)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


Format = Callable[[tuple[Any, ...]], Any]


def copy_formatter(columns: list[str]) -> Format:
    """A function turning one row (ints, epoch seconds, bools, strs, None) into a COPY text line.

    Written out as one f-string per table and compiled once: a loop over the columns costs three
    times as much, and this runs for every one of tens of millions of rows.
    """
    names = [f"c{i}" for i in range(len(columns))]
    fields = [_COPY_FIELD[_kind(column)].format(name) for column, name in zip(columns, names, strict=True)]
    source = f'def line(row):\n    {", ".join(names)}, = row\n    return f"{"{TAB}".join(fields)}{{NL}}"\n'
    scope: dict[str, Any] = {"N": "\\N", "TAB": "\t", "NL": "\n", "T": "t", "F": "f"}
    scope |= {"stamp": Timestamps("+00"), "esc": copy_text}
    exec(compile(source, f"<copy {columns[0]}…>", "exec"), scope)
    return scope["line"]  # type: ignore[no-any-return]


_COPY_FIELD = {
    "t": "{{N if {0} is None else stamp({0})}}",
    "b": "{{T if {0} else F}}",
    "s": "{{N if {0} is None else esc({0})}}",
    "n": "{{N if {0} is None else {0}}}",
}


def sqlite_formatter(columns: list[str]) -> Format:
    """A function turning one row into executemany parameters (timestamps as Django stores them on SQLite)."""
    stamp = Timestamps("")
    times = [i for i, c in enumerate(columns) if c in TIMES]
    bools = [i for i, c in enumerate(columns) if c in BOOLS]

    def params(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i in times:
            if values[i] is not None:
                values[i] = stamp(values[i])
        for i in bools:
            values[i] = int(values[i])
        return tuple(values)

    return params


def _kind(column: str) -> str:
    if column in TIMES:
        return "t"
    if column in BOOLS:
        return "b"
    return "s" if column in TEXTS else "n"
