"""Background work of the analytics app: fold changed cases into the rollups."""

from __future__ import annotations

from civicgrid.analytics import rollups
from civicgrid.jobs import job


@job
def refresh_rollups() -> bool:
    """Fold up to one batch of cases marked stale into the rollups; True when there were some."""
    return rollups.refresh() > 0


@job
def write_bulletins() -> bool:
    """Write the next scheduled bulletin that is due and missing (docs/bulletins.md); True when
    there was one. Claimed with a unique insert, so each is written once however many workers run."""
    from civicgrid import clock
    from civicgrid.analytics.bulletins import schedule

    return schedule.write_next(now=clock.now())
