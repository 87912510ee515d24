"""Deadlines a case or an assignment gets from its catalogue item."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from civicgrid.cases.deadlines import resolve_deadline, response_deadline
from civicgrid.catalogue.models import Item


def deadlines_from(*, item: Item | None, start: datetime) -> tuple[datetime, datetime]:
    """(respond by, resolve by) for work starting at `start`; defaults when not yet classified."""
    hours = item.response_hours if item is not None else settings.DEFAULT_RESPONSE_HOURS
    days = item.resolve_days if item is not None else settings.DEFAULT_RESOLVE_DAYS
    return response_deadline(start, hours), resolve_deadline(start, days)
