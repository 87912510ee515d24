"""Shapes of the cases API: field names here are the contract integrators rely on."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

KindName = Literal["consult", "help", "complaint", "report", "suggestion", "praise"]
ChannelName = Literal["hotline", "qr", "grid_app", "web", "api", "patrol", "leader"]


class ReporterIn(Schema):
    name: str = Field(default="", max_length=50)
    phone: str = Field(default="", max_length=20)
    anonymous: bool = False
    confidential: bool = False


class CaseIn(Schema):
    kind: KindName
    description: str = Field(..., min_length=1, max_length=5000)
    title: str = Field(default="", max_length=100)
    item: str | None = None
    grid: str | None = None
    building: str | None = None
    address: str = Field(default="", max_length=200)
    lat: float | None = None
    lon: float | None = None
    channel: ChannelName = "api"
    proactive: bool = False
    reporter: ReporterIn = ReporterIn()


class ReporterOut(Schema):
    name: str | None
    phone: str | None
    anonymous: bool
    confidential: bool


class AssignmentOut(Schema):
    unit: str
    unit_name: str
    role: str
    status: str
    respond_by: datetime
    resolve_by: datetime
    acknowledged_at: datetime | None


class EventOut(Schema):
    seq: int
    action: str
    actor: str | None
    unit: str | None
    from_status: str
    to_status: str
    at: datetime
    note: str


class CaseSummary(Schema):
    number: str
    status: str
    kind: str
    title: str
    item: str | None
    grid: str
    owner: str | None
    channel: str
    proactive: bool
    created_at: datetime
    respond_by: datetime | None
    resolve_by: datetime | None
    overdue: bool
    supervised: bool
    excluded: bool = False  # 考核剔除: the case counts in no figure


class ExclusionOut(Schema):
    """An exclusion request waiting for a supervisor; its id is what a decision names."""

    id: int
    unit: str
    unit_name: str
    reason: str
    note: str
    requested_at: datetime


class CaseOut(CaseSummary):
    tracking_code: str | None = None
    description: str
    building: str | None
    address: str
    lat: float | None
    lon: float | None
    reporter: ReporterOut
    assignments: list[AssignmentOut]
    allowed_actions: list[str]
    events: list[EventOut]
    excluded_at: datetime | None = None
    pending_exclusion: ExclusionOut | None = None


class CaseList(Schema):
    items: list[CaseSummary]
    next_cursor: str | None


class AcceptIn(Schema):
    item: str | None = None
    note: str = ""


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class DispatchIn(Schema):
    lead: str
    assist: list[str] = []
    note: str = ""


class AcknowledgeIn(Schema):
    unit: str | None = None


class ExtensionIn(Schema):
    days: int = Field(..., ge=1, le=30)
    reason: str = Field(..., min_length=1, max_length=2000)


class NoteOptionalIn(Schema):
    note: str = ""


class SummonIn(Schema):
    units: list[str] = Field(..., min_length=1)
    note: str = ""


class ResolveIn(Schema):
    result: str = Field(..., min_length=1, max_length=5000)


class EvaluateIn(Schema):
    solved: bool
    satisfaction: Literal["satisfied", "basically", "dissatisfied"]
    comment: str = Field(default="", max_length=2000)
    channel: Literal["resident", "callback"] | None = None


class MergeIn(Schema):
    into: str


class SuperviseIn(Schema):
    note: str = Field(..., min_length=1, max_length=2000)


class NoteIn(Schema):
    text: str = Field(..., min_length=1, max_length=5000)


ExclusionReasonName = Literal["malicious", "out_of_scope", "duplicate"]


class ExclusionIn(Schema):
    reason: ExclusionReasonName
    note: str = Field(..., min_length=1, max_length=2000)
    # Which of the caller's units asks; by default its lead unit, else the nearest area holding the place.
    unit: str | None = None


class ExclusionDecisionIn(Schema):
    decision: Literal["approve", "refuse"]
    # Required to refuse: the unit is told why.
    note: str = Field(default="", max_length=2000)
