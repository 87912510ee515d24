"""The one clock every service reads, so history can be replayed at its own time (demo, imports)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_frozen: ContextVar[datetime | None] = ContextVar("civicgrid_clock", default=None)


def now() -> datetime:
    """The current time, or the time set by `at()` for the code running inside it."""
    return _frozen.get() or timezone.now()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run the enclosed services as if it were `moment` (used to write realistic histories)."""
    token = _frozen.set(moment)
    try:
        yield
    finally:
        _frozen.reset(token)
