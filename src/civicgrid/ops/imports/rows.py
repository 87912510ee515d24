"""Reading one row of a sheet into typed values, recording a Chinese reason for every bad cell."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.db.models import Choices
from django.utils.translation import gettext as _
from django.utils.translation import override as language

from civicgrid.ops.sheets import Sheet
from civicgrid.org.phones import normalise_phone

Progress = Callable[[int], None]  # called with the number of rows done so far
T = TypeVar("T")

# Separators people type in phone numbers; anything else (letters, 转, ext) is refused.
_PHONE_CHARS = re.compile(r"^[0-9 +()\-]*$")
PHONE_DIGITS = (5, 20)  # 12345 is a service number; 20 digits leaves room for an extension
PROGRESS_EVERY = 250  # rows between two progress reports


@dataclass(frozen=True)
class Problem:
    """A reason a row (or a whole sheet, row 0) cannot be imported."""

    sheet: str
    row: int
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"sheet": self.sheet, "row": self.row, "message": self.message}


@dataclass
class Context:
    """What a check knows across sheets: codes from the database and from earlier sheets of the file."""

    unit_kinds: dict[str, str]  # unit code → kind (the file's rows override the database)
    unit_parents: dict[str, str]  # unit code → parent code ("" for a root), database then file
    building_codes: set[str]
    usernames: set[str]  # accounts that exist already
    progress: Progress | None = None
    problems: list[Problem] = field(default_factory=list)
    done: int = 0

    def tick(self) -> None:
        """One more row checked: report progress every PROGRESS_EVERY rows."""
        self.done += 1
        if self.progress is not None and self.done % PROGRESS_EVERY == 0:
            self.progress(self.done)

    def flag(self, sheet: Sheet, row: int, message: str) -> None:
        self.problems.append(Problem(sheet.name, row, message))


def lookup(choices: type[Choices], aliases: dict[str, str] | None = None) -> dict[str, str]:
    """Every way to write a choice: its code, its Chinese label and its English label → the code."""
    found: dict[str, str] = {}
    for value, label in zip(choices.values, choices.labels, strict=True):
        for lang in ("zh-hans", "en"):
            with language(lang):
                found[str(label).strip().lower()] = str(value)
        found[str(value).lower()] = str(value)
    found.update(aliases or {})
    return found


def label_of(choices: type[Choices], value: str) -> str:
    """The Chinese label of a choice: what exports write, whatever the page's language."""
    with language("zh-hans"):
        return str(dict(zip(choices.values, choices.labels, strict=True)).get(value, value))


class RowReader:
    """Typed cells of one row; each bad cell adds a problem naming its column and the value seen."""

    def __init__(self, ctx: Context, sheet: Sheet, number: int, values: dict[str, str]) -> None:
        self.ctx, self.sheet, self.row, self.values = ctx, sheet, number, values

    def fail(self, message: str) -> None:
        self.ctx.flag(self.sheet, self.row, message)

    def text(self, column: str, *, max_length: int, required: bool = False) -> str:
        value = self.values.get(column, "").strip()
        if required and not value:
            self.fail(_("“%(column)s”不能为空") % {"column": column})
        elif len(value) > max_length:
            self.fail(_("“%(column)s”超过 %(max)d 个字") % {"column": column, "max": max_length})
        return value

    def number(self, column: str, *, low: float, high: float) -> float | None:
        raw = self.values.get(column, "").strip()
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:  # also catches nan and inf
            self.fail(
                _("“%(column)s”的值“%(value)s”不是 %(low)s 到 %(high)s 之间的数字")
                % {"column": column, "value": raw, "low": low, "high": high}
            )
            return None
        return value

    def integer(self, column: str, *, default: int, high: int) -> int:
        raw = self.values.get(column, "").strip()
        if not raw:
            return default
        if not raw.isdigit() or int(raw) > high:
            self.fail(
                _("“%(column)s”的值“%(value)s”须是 0 到 %(high)d 的整数")
                % {"column": column, "value": raw, "high": high}
            )
            return default
        return int(raw)

    def phone(self, column: str, *, keep_format: bool = False) -> str:
        """Digits only (or as typed, for unit hotlines like 0535-8123456), after checking the digits."""
        raw = self.values.get(column, "").strip()
        digits = normalise_phone(raw)
        if raw and (not _PHONE_CHARS.match(raw) or not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]):
            self.fail(
                _("“%(column)s”的值“%(value)s”不是有效的电话号码（只能填数字）")
                % {"column": column, "value": raw}
            )
            return ""
        return raw if keep_format else digits

    def choice(self, column: str, options: dict[str, str], *, default: str = "") -> str:
        raw = self.values.get(column, "").strip()
        if not raw:
            return default
        value = options.get(raw.lower())
        if value is None:
            self.fail(_("“%(column)s”的值“%(value)s”无法识别") % {"column": column, "value": raw})
            return default
        return value


# Coordinates closer than this (about 0.1 mm) are the same place: an .xlsx keeps 16 significant digits
# of a float where Python keeps 17, and a re-import must not rewrite a row for that last digit.
COORDINATE_TOLERANCE = 1e-9


def same(current: Sequence[object], wanted: Sequence[object]) -> bool:
    """Whether a stored row already holds the file's values (floats within COORDINATE_TOLERANCE)."""
    return len(current) == len(wanted) and all(
        abs(a - b) <= COORDINATE_TOLERANCE if isinstance(a, float) and isinstance(b, float) else a == b
        for a, b in zip(current, wanted, strict=True)
    )


def duplicate_code(code: str, first: int) -> str:
    return _("编码“%(code)s”在本文件中重复（第 %(first)d 行已有）") % {"code": code, "first": first}


def first_seen(seen: dict[T, int], key: T, number: int) -> int | None:
    """The row where `key` appeared before in this file, or None (and remember this row)."""
    if key in seen:
        return seen[key]
    seen[key] = number
    return None


def chunked(values: Sequence[T] | Iterable[T], size: int = 900) -> Iterator[list[T]]:
    """Slices short enough for an `IN (…)` on every database (SQLite limits bound parameters)."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
