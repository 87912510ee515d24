"""One CSV row read into the typed facts of a case (who, where, what, when, how rated), or its problems."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from civicgrid.cases.models import Channel, EvaluationChannel, Kind, Satisfaction
from civicgrid.cases.states import Status
from civicgrid.catalogue.models import Item
from civicgrid.ops.import_cases.cells import (
    ITEM_NOUN,
    UNIT_NOUN,
    CellReader,
    Lookups,
    find,
    parse_bool,
    parse_choice,
    parse_phone,
)
from civicgrid.ops.import_cases.mapping import Mapping
from civicgrid.ops.imports.rows import lookup
from civicgrid.org.models import Unit

EXTERNAL_ID_MAX = 64
TIME_FIELDS = (
    "created_at",
    "accepted_at",
    "dispatched_at",
    "acknowledged_at",
    "resolved_at",
    "evaluated_at",
    "closed_at",
)
# A merged case needs the case it was merged into: the previous system's link cannot be rebuilt here.
IMPORTABLE = [status for status in Status if status != Status.MERGED]


@dataclass(frozen=True)
class Rating:
    satisfaction: str
    solved: bool
    channel: str
    comment: str


@dataclass(slots=True)
class CaseRow:
    """A valid row: the case's own fields and the times the file gives for its steps."""

    number: int
    external_id: str
    fingerprint: str
    status: str
    kind: str
    channel: str
    place: Unit
    handler: Unit | None
    item: Item | None
    title: str
    description: str
    address: str
    proactive: bool
    reporter_name: str
    reporter_phone: str
    confidential: bool
    times: dict[str, datetime]
    respond_by: datetime | None
    resolve_by: datetime | None
    rating: Rating | None
    result: str
    reason: str


@dataclass
class Options:
    """Every accepted spelling of each choice (code, Chinese and English label) → its code."""

    status: dict[str, str] = field(default_factory=lambda: lookup(Status))
    kind: dict[str, str] = field(default_factory=lambda: lookup(Kind))
    channel: dict[str, str] = field(default_factory=lambda: lookup(Channel))
    satisfaction: dict[str, str] = field(default_factory=lambda: lookup(Satisfaction))
    evaluation_channel: dict[str, str] = field(default_factory=lambda: lookup(EvaluationChannel))

    def __post_init__(self) -> None:
        self.status = {text: code for text, code in self.status.items() if code in IMPORTABLE}

    def of(self, name: str) -> dict[str, str]:
        options: dict[str, str] = getattr(self, name)
        return options


def fingerprint(mapping: Mapping, values: dict[str, str]) -> str:
    """A hash of the mapped cells: tells a row imported before, unchanged, from an edited one."""
    cells = [values.get(column, "").strip() for column in mapping.columns]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def external_id(reader: CellReader) -> str:
    return reader.text("external_id", max_length=EXTERNAL_ID_MAX, required=True)


def read_row(reader: CellReader, lookups: Lookups, options: Options) -> CaseRow | None:
    """The row's facts, or None when any cell is bad (each bad cell is in reader.problems)."""
    row = CaseRow(
        number=reader.number,
        external_id=external_id(reader),
        fingerprint=fingerprint(reader.mapping, reader.values),
        status=_choice(reader, "status", options),
        kind=_choice(reader, "kind", options),
        channel=_choice(reader, "channel", options),
        place=_place(reader, lookups),
        handler=_unit(reader, lookups, "handler"),
        item=_item(reader, lookups),
        title=reader.text("title")[:100],  # a summary: cut as intake cuts it
        description=reader.text("description", required=True),
        address=reader.text("address", max_length=200),
        proactive=bool(reader.parsed("proactive", parse_bool)),
        reporter_name=reader.text("reporter_name", max_length=50),
        reporter_phone=reader.parsed("reporter_phone", parse_phone) or "",
        confidential=bool(reader.parsed("reporter_confidential", parse_bool)),
        times=_times(reader),
        respond_by=reader.time("respond_by"),
        resolve_by=reader.time("resolve_by"),
        rating=_rating(reader, options),
        result=reader.text("result"),
        reason=reader.text("reason"),
    )
    if "created_at" not in row.times and reader.raw("created_at") == "":
        reader.fail("created_at", _("不能为空"))
    return None if reader.problems else row


def _choice(reader: CellReader, name: str, options: Options) -> str:
    """A required choice: its code, or "" with a problem (empty, or a value no spelling matches)."""
    value = reader.parsed(name, lambda text: parse_choice(text, options.of(name)))
    if value is None and not reader.raw(name):
        reader.fail(name, _("不能为空"))
    return value or ""


def _unit(reader: CellReader, lookups: Lookups, name: str) -> Unit | None:
    spec = reader.spec(name)
    if spec is None:
        return None
    return reader.parsed(name, lambda text: find(lookups.units, text, spec.by, UNIT_NOUN))


def _place(reader: CellReader, lookups: Lookups) -> Unit:
    place = _unit(reader, lookups, "place")
    if place is None:
        if not reader.raw("place"):
            reader.fail("place", _("不能为空"))
        return Unit()
    if not place.is_area:
        message = _("“%(unit)s”是职能部门：所在区域须是区县、镇街、村社区或网格")
        reader.fail("place", message % {"unit": place.name})
    return place


def _item(reader: CellReader, lookups: Lookups) -> Item | None:
    spec = reader.spec("item")
    if spec is None:
        return None
    return reader.parsed("item", lambda text: find(lookups.items, text, spec.by, ITEM_NOUN))


def _times(reader: CellReader) -> dict[str, datetime]:
    found = {name: reader.time(name) for name in TIME_FIELDS}
    return {name: moment for name, moment in found.items() if moment is not None}


def _rating(reader: CellReader, options: Options) -> Rating | None:
    satisfaction = reader.parsed("satisfaction", lambda t: parse_choice(t, options.satisfaction))
    solved = reader.parsed("solved", parse_bool)
    if satisfaction is None:
        if solved is not None and not reader.raw("satisfaction"):
            reader.fail("solved", _("有“是否解决”却没有满意度：评价须同时有满意度和是否解决"))
        return None
    if solved is None:
        if not reader.raw("solved"):
            reader.fail("solved", _("有满意度却没有“是否解决”：请映射该列，或在映射中给出 default"))
        return None
    channel = reader.parsed("evaluation_channel", lambda t: parse_choice(t, options.evaluation_channel))
    comment = reader.text("comment")
    # Historical ratings were mostly taken by the hotline's callbacks (回访).
    return Rating(satisfaction, solved, channel or EvaluationChannel.CALLBACK, comment)
