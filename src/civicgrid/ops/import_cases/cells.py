"""Typed values from a row's cells through the mapping; each bad one is a Problem naming its column."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.catalogue.models import Item
from civicgrid.ops.import_cases.mapping import FieldSpec, Mapping
from civicgrid.ops.imports.rows import PHONE_DIGITS
from civicgrid.org.models import Unit
from civicgrid.org.phones import normalise_phone

UNIT_NOUN, ITEM_NOUN = gettext_lazy("单位"), gettext_lazy("事项")  # translated only for a message
StrOrPromise = str | Promise
T = TypeVar("T", Unit, Item)
V = TypeVar("V")
TRUE = {"true", "1", "y", "yes", "是", "对", "已解决", "解决"}
FALSE = {"false", "0", "n", "no", "否", "不", "未解决", "没有解决"}
# Separators people type in phone numbers; letters, 转 or ext are refused (as the setup sheets do).
PHONE_CHARS = re.compile(r"^[0-9 +()\-]*$")
ALIASES_SHOWN = 12  # a longer list of a mapping's aliases helps nobody find the typo


class CellError(Exception):
    """One value cannot be used; the message (Chinese) says why."""


@dataclass(frozen=True)
class Problem:
    """A reason a row cannot be imported: its row number, the column at fault ("" for the row) and why."""

    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


def _index(objects: list[T]) -> tuple[dict[str, T], dict[str, list[T]]]:
    by_name: dict[str, list[T]] = defaultdict(list)
    for obj in objects:
        by_name[obj.name.strip()].append(obj)
    return {obj.code: obj for obj in objects}, dict(by_name)


@dataclass
class Lookups:
    """Units and catalogue items by code and by name, read once per import."""

    units: tuple[dict[str, Unit], dict[str, list[Unit]]]
    items: tuple[dict[str, Item], dict[str, list[Item]]]
    district: dict[int, Unit] = field(default_factory=dict)  # unit id → its district

    @classmethod
    def load(cls) -> Lookups:
        # Retired items stay: history refers to them.
        return cls(units=_index(list(Unit.objects.all())), items=_index(list(Item.objects.all())))

    def district_of(self, unit: Unit) -> Unit:
        """The district at the root of the unit's tree (the command centre that accepts its cases)."""
        if unit.pk not in self.district:
            root = unit.ancestor_codes()[0]
            self.district[unit.pk] = self.units[0].get(root, unit)
        return self.district[unit.pk]


def find(index: tuple[dict[str, T], dict[str, list[T]]], text: str, by: str, what: StrOrPromise) -> T:
    """A unit or item by code or by name; an unknown or ambiguous one raises CellError."""
    by_code, by_name = index
    if by != "name" and text in by_code:
        return by_code[text]
    found = by_name.get(text, []) if by != "code" else []
    if len(found) == 1:
        return found[0]
    if found:
        codes = "、".join(sorted(obj.code for obj in found))
        message = _("名称“%(name)s”对应多个%(what)s（编码 %(codes)s）：请改用编码，或在映射的 values 中指明")
        raise CellError(message % {"name": text, "what": what, "codes": codes})
    raise CellError(_("%(what)s“%(value)s”不存在") % {"what": what, "value": text})


def parse_time(text: str, formats: tuple[str, ...], zone: ZoneInfo) -> datetime:
    """A moment from a cell; naive times are read in the mapping's time zone.

    ISO 8601 ("2024-03-04 09:00:00", with or without an offset) is always understood, and tried
    first: it is unambiguous, and parsed in C, where strptime costs a hundred times more per row.
    """
    try:
        moment: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        moment = _try_formats(text, formats)
    if moment is None:
        message = _("“%(value)s”不是有效的时间（格式：%(formats)s）")
        raise CellError(message % {"value": text, "formats": " 或 ".join(formats)})
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _try_formats(text: str, formats: tuple[str, ...]) -> datetime | None:
    for form in formats:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise CellError(_("“%(value)s”不是 是/否（或 true/false）") % {"value": text})


def parse_choice(text: str, options: dict[str, str]) -> str:
    value = options.get(text.lower())
    if value is None:
        message = _("“%(value)s”无法识别（可用：%(options)s；或在映射的 values 中对应）")
        raise CellError(message % {"value": text, "options": "、".join(sorted(set(options.values())))})
    return value


def parse_phone(text: str) -> str:
    digits = normalise_phone(text)
    if not PHONE_CHARS.match(text) or not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
        raise CellError(_("“%(value)s”不是有效的电话号码") % {"value": text})
    return digits


class CellReader:
    """The cells of one row read through the mapping; every bad value adds a Problem."""

    def __init__(self, mapping: Mapping, number: int, values: dict[str, str]) -> None:
        self.mapping, self.number, self.values = mapping, number, values
        self.problems: list[Problem] = []

    def fail(self, name: str, message: str) -> None:
        spec = self.mapping.spec(name)
        self.problems.append(Problem(self.number, spec.label if spec else name, message))

    def cell(self, name: str) -> str:
        """The cell's text as the file has it, or the field's default when empty."""
        spec = self.mapping.spec(name)
        if spec is None:
            return ""
        text = self.values.get(spec.column, "").strip() if spec.column else ""
        return text or spec.default

    def raw(self, name: str) -> str:
        """The cell's text translated by the field's `values` (an alias to "" empties it)."""
        spec, text = self.mapping.spec(name), self.cell(name)
        return spec.values.get(text, text).strip() if spec is not None and text else ""

    def spec(self, name: str) -> FieldSpec | None:
        return self.mapping.spec(name)

    def text(self, name: str, *, max_length: int = 0, required: bool = False) -> str:
        value = self.raw(name)
        if required and not value:
            self.fail(name, _("不能为空"))
        elif max_length and len(value) > max_length:
            self.fail(name, _("超过 %(max)d 个字") % {"max": max_length})
        return value

    def parsed(self, name: str, parse: Callable[[str], V]) -> V | None:
        """The parsed value, or None when the cell is empty or bad (a bad one is a Problem)."""
        text = self.raw(name)
        if not text:
            return None
        try:
            return parse(text)
        except CellError as exc:
            self.fail(name, str(exc) + self._aliases_hint(name))
            return None

    def _aliases_hint(self, name: str) -> str:
        """For a value the mapping's `values` do not list: the ones they do, as the file writes them."""
        spec = self.mapping.spec(name)
        if spec is None or not spec.values or self.cell(name) in spec.values:
            return ""
        listed = list(spec.values)
        shown = "、".join(listed[:ALIASES_SHOWN]) + ("…" if len(listed) > ALIASES_SHOWN else "")
        return _("（映射的 values 中有：%(values)s）") % {"values": shown}

    def time(self, name: str) -> datetime | None:
        spec = self.mapping.spec(name)
        if spec is None:
            return None
        return self.parsed(name, lambda text: parse_time(text, spec.formats, self.mapping.zone))
