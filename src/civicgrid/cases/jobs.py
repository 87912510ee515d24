"""Background jobs of the case engine (deadline sweeps arrive with the deadlines issue)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings

from civicgrid import clock
from civicgrid.cases.models import IdempotencyKey
from civicgrid.jobs import job

log = logging.getLogger(__name__)
BATCH = 500


@job
def purge_idempotency_keys() -> bool:
    """Forget Idempotency-Keys older than the TTL, a batch at a time. Return True when some were due."""
    cutoff = clock.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    ids = list(IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:BATCH])
    if not ids:
        return False
    deleted, _ = IdempotencyKey.objects.filter(pk__in=ids).delete()
    log.info("purged %d idempotency keys older than %s", deleted, cutoff.isoformat())
    return True
