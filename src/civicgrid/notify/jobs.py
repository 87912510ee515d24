"""Background work of notifications: deliver the outbox (the worker runs this in its loop)."""

from __future__ import annotations

from civicgrid.jobs import job
from civicgrid.notify.delivery import deliver_due


@job
def deliver_messages() -> bool:
    """Deliver one batch of due messages (each logged as delivered or failed); True when some were due."""
    return deliver_due() > 0
