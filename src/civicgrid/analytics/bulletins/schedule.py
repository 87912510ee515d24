"""The worker's bulletins: which are due now, and writing the next missing one exactly once.

Due (settings.BULLETINS, local time): from `hour` o'clock, yesterday's digest of every community,
on Mondays last week's analysis of every street, on the 1st last month's bulletin of every district,
in each configured format. A period missed while no worker ran stays due until the next one of its
kind is released. Each call writes one area's bulletin (all its formats from one gathering of the
figures), so the worker's other jobs keep running between areas.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Exists, OuterRef, Q

from civicgrid.analytics.bulletins import periods
from civicgrid.analytics.bulletins.periods import Period
from civicgrid.analytics.bulletins.services import Request, claim, complete, content_of, stale_before
from civicgrid.analytics.models import Bulletin
from civicgrid.org.models import Unit

log = logging.getLogger(__name__)

KINDS = (periods.DAILY, periods.WEEKLY, periods.MONTHLY)


def formats() -> tuple[str, ...]:
    return tuple(settings.BULLETINS["formats"])


def due(*, now: datetime) -> list[Period]:
    """The latest released period of each kind."""
    hour = int(settings.BULLETINS["hour"])
    return [periods.latest_released(kind, now=now, hour=hour) for kind in KINDS]


def missing(*, period: Period, now: datetime) -> Unit | None:
    """The first area (by code) lacking a format of this bulletin that nobody is writing: one query,
    the bulletin rows probed by the unique constraint's index."""
    written = Bulletin.objects.filter(
        Q(generated_at__isnull=False) | Q(claimed_at__gte=stale_before(now)),
        unit=OuterRef("pk"),
        kind=period.kind,
        period=period.label,
    )
    lacking = Q()
    for fmt in formats():
        lacking |= Q(~Exists(written.filter(format=fmt)))
    units = Unit.objects.filter(lacking, kind=periods.UNIT_OF_KIND[period.kind], active=True)
    return units.order_by("code").first()


def write_next(*, now: datetime) -> bool:
    """Write the next missing scheduled bulletin; True when there was one to take on."""
    if not settings.BULLETINS["enabled"] or not formats():
        return False
    for period in due(now=now):
        unit = missing(period=period, now=now)
        if unit is not None:
            _write(unit, period, now)
            return True
    return False


def _write(unit: Unit, period: Period, now: datetime) -> None:
    """Claim each format of the area's bulletin, gather its content once, write the claimed files.
    A failure is logged and the claim left to expire, so a broken bulletin is retried later
    without stopping the worker or spinning on it."""
    claims = [claim(request=Request(unit, period, period.kind, fmt), now=now) for fmt in formats()]
    mine = [row for row in claims if row is not None]
    if not mine:
        return
    try:
        content = content_of(Request(unit, period, period.kind, mine[0].format))
        for row in mine:
            complete(row=row, content=content)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the worker waits and retries; the claims expire
    except Exception:
        log.exception("bulletin %s of %s failed; retried once its claim expires", period.label, unit.code)
        return
    log.info("bulletin %s of %s written (%s)", period.label, unit.code, ", ".join(r.format for r in mine))
