"""The vocabulary of a demo case history: who acts, what the case is, and the steps to play."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from civicgrid.accounts.models import User
from civicgrid.cases.models import Case, Channel
from civicgrid.cases.services import NewCase
from civicgrid.cases.states import ENDED, Status
from civicgrid.catalogue.models import Item
from civicgrid.org.models import Building, Unit

T = TypeVar("T")
PROACTIVE = (Channel.GRID_APP, Channel.PATROL)


@dataclass
class Cast:
    """The accounts and places histories are written with; `acting` is who acts for each unit."""

    centre: User
    supervisor: User
    leader: User
    integrator: User
    acting: dict[int, User]
    volunteers: dict[int, list[User]]
    grids: list[Unit]
    dedicated: list[Unit]
    departments: dict[str, Unit]
    buildings: dict[int, list[Building]]


@dataclass
class Plan:
    """What a case is about before its history is written: where, what, through which channel, who leads."""

    grid: Unit
    item: Item
    lead: Unit
    channel: str
    kind: str
    creator: User | None
    building: Building | None

    @property
    def proactive(self) -> bool:
        return self.channel in PROACTIVE


@dataclass
class Step:
    gap: timedelta
    service: Callable[..., object]
    kwargs: dict[str, Any]


@dataclass
class Script:
    """One case's history to play: the case to file, then each service call with the pause before it."""

    status: Status
    new: NewCase
    creator: User | None
    overdue: bool = False
    steps: list[Step] = field(default_factory=list)
    lead: Unit | None = None
    assists: list[Unit] = field(default_factory=list)
    start: datetime | None = None
    case: Case | None = None

    def then(self, gap: timedelta, service: Callable[..., object], **kwargs: Any) -> None:
        self.steps.append(Step(gap, service, kwargs))

    @property
    def length(self) -> timedelta:
        return sum((step.gap for step in self.steps), timedelta())

    @property
    def begins(self) -> datetime:
        assert self.start is not None, "scheduled first"
        return self.start

    @property
    def open_until(self) -> datetime | None:
        """When the case stops being open (None: still open now)."""
        return self.begins + self.length if self.status in ENDED else None


@dataclass
class Ctx:
    rng: random.Random
    cast: Cast
    items: dict[str, Item]
    now: datetime

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, weights: dict[T, int]) -> T:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    def acting(self, unit: Unit) -> User:
        return self.cast.acting[unit.pk]
