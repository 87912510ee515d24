"""Request and response shapes of /api/v1/stats."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict


class StatsParams(Schema):
    """`from` and `to` bound the period [from, to); a date without a time means local midnight."""

    start: datetime = Field(alias="from", description="Start of the period, included (ISO 8601).")
    end: datetime = Field(alias="to", description="End of the period, excluded (ISO 8601).")
    place: str | None = Field(
        None, description="A unit code; default: the widest area the caller's posts cover."
    )


class RatioOut(Schema):
    """numerator / denominator; rate to 4 decimals (0.9616 for 96.16 %), null when nothing to divide by."""

    numerator: int | float
    denominator: int
    rate: float | None


class CountOut(Schema):
    count: int


class StatsOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    place: str
    metrics: dict[str, RatioOut | CountOut]
