"""Request and response shapes of /api/v1/stats.

The answers are plain pydantic models: ninja's Schema resolves every field of every nested object
through Django's template lookups, 45 ms for a month by day (hundreds of ratios)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict

GroupBy = Literal["unit", "handler", "domain", "item", "channel", "kind", "day"]


class StatsParams(Schema):
    """Whole local days: `from` is the first day counted, `to` the first day not counted."""

    start: date = Field(alias="from", description="First day of the period, included (YYYY-MM-DD).")
    end: date = Field(alias="to", description="Day after the period, excluded (YYYY-MM-DD).")
    place: str | None = Field(
        None,
        description="Scope by place: cases located in this area unit's subtree (a unit code). Default: "
        "the widest area the caller's posts cover; everywhere for a handler asking for its own unit.",
    )
    handler: str | None = Field(
        None,
        description="Scope by handler: only what this unit handled (its own assignments' responses, "
        "dispatches to it and returns by it; otherwise the cases whose latest lead it holds).",
    )
    group_by: GroupBy | None = Field(
        None,
        description="Also answer per group: `unit` (the child area of `place` holding the case), "
        "`handler`, `domain`, `item`, `channel`, `kind` or `day`.",
    )
    level: Literal["street", "community", "grid"] | None = Field(
        None, description="With group_by=unit: group by the area of this kind holding the case."
    )


class RatioOut(BaseModel):
    """numerator / denominator; rate to 4 decimals (0.9616 for 96.16 %), null when nothing to divide by."""

    numerator: int | float
    denominator: int
    rate: float | None


class CountOut(BaseModel):
    count: int


class GroupOut(BaseModel):
    key: str = Field(description="A unit, item or domain code, a channel, a kind, or a day (YYYY-MM-DD).")
    label: str
    metrics: dict[str, RatioOut | CountOut]


class StatsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    place: str | None
    handler: str | None
    group_by: str | None
    metrics: dict[str, RatioOut | CountOut]
    groups: list[GroupOut]
