"""Delivering the outbox: claim due messages, send each through its transport, log the outcome.

Any number of workers may run this at once. Messages that only write to our own database (the
inbox) are claimed, placed and marked sent in one transaction: a crash rolls all of it back. The
others are claimed first (status `sending` with a lease, committed), sent outside any transaction,
then finished; a worker that dies in between leaves the lease to run out, and the next claim
sends the message again with the same id (receivers drop repeats by it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from civicgrid import clock
from civicgrid.notify.models import Delivery, Message
from civicgrid.notify.transports import TRANSPORTS, inbox

log = logging.getLogger("civicgrid.notify")

# Inbox placements are cheap database writes: many per transaction.
LOCAL_BATCH = 500
# Network sends may each take up to the timeout: few per claim keeps the lease (and so the wait
# before a crashed worker's messages are sent again) short.
REMOTE_BATCH = 20
LOCAL = frozenset(name for name, module in TRANSPORTS.items() if module.IN_TRANSACTION)
S = Message.Status
DETAIL_CHARS = 1000


def lease() -> timedelta:
    """How long a claim of REMOTE_BATCH network messages holds them: every send may time out."""
    return timedelta(seconds=60 + settings.DELIVERY_TIMEOUT_SECONDS * REMOTE_BATCH)


def backoff(attempts: int) -> timedelta:
    """The pause before the next attempt after `attempts` failed ones: doubling, capped."""
    seconds = settings.DELIVERY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.DELIVERY_BACKOFF_MAX_SECONDS))


def _due(now: datetime) -> Q:
    """Waiting for their attempt, or claimed by a worker whose lease ran out (it died)."""
    return Q(status=S.PENDING, next_attempt_at__lte=now) | Q(status=S.SENDING, lease_until__lt=now)


def _locked(rows: QuerySet[Message]) -> QuerySet[Message]:
    """Rows another worker is claiming are skipped, not waited for (PostgreSQL). SQLite has one
    writer at a time: its transactions begin IMMEDIATE, so claims are serialised anyway."""
    if connection.features.has_select_for_update_skip_locked:
        return rows.select_for_update(skip_locked=True, of=("self",))
    return rows


def deliver_due() -> int:
    """Deliver one batch of each kind; return how many messages were attempted."""
    return deliver_local() + deliver_remote()


def deliver_local() -> int:
    """Claim, place and finish a batch of inbox messages in one transaction."""
    now = clock.now()
    with transaction.atomic():
        due = Message.objects.filter(_due(now), transport__in=LOCAL).order_by("next_attempt_at", "pk")
        messages = list(_locked(due)[:LOCAL_BATCH])
        if not messages:
            return 0
        placed = inbox.send_many(messages)
        Delivery.objects.bulk_create(
            Delivery(message=m, attempt=m.attempts + 1, at=now, ok=True, detail=placed[m.pk])
            for m in messages
        )
        Message.objects.filter(pk__in=[m.pk for m in messages]).update(
            status=S.SENT, sent_at=now, attempts=F("attempts") + 1, lease_until=None, last_error=""
        )
    for m in messages:
        log.info("delivered message %s (%s %s) to user %s", m.pk, m.transport, m.template, m.user_id)
    return len(messages)


def deliver_remote() -> int:
    """Claim a batch of network messages, then send and finish each one."""
    messages = claim(limit=REMOTE_BATCH)
    for message in messages:
        attempt(message)
    return len(messages)


def claim(*, limit: int) -> list[Message]:
    """Mark up to `limit` due network messages as ours until the lease ends (committed on return)."""
    now = clock.now()
    until = now + lease()
    with transaction.atomic():
        due = Message.objects.filter(_due(now)).exclude(transport__in=LOCAL).order_by("next_attempt_at", "pk")
        messages = list(_locked(due).select_related("endpoint")[:limit])
        if not messages:
            return []
        # The guard repeats the due condition: a row claimed meanwhile is not taken twice.
        Message.objects.filter(_due(now), pk__in=[m.pk for m in messages]).update(
            status=S.SENDING, lease_until=until, attempts=F("attempts") + 1
        )
    for m in messages:
        m.status, m.lease_until, m.attempts = S.SENDING, until, m.attempts + 1
    return messages


def attempt(message: Message) -> bool:
    """Send one claimed message, log the attempt and set what happens next; return success."""
    try:
        detail, ok = TRANSPORTS[message.transport].send(message), True
    except Exception as exc:  # any failure of a transport is a failed attempt, retried later
        detail, ok = f"{exc.__class__.__name__}: {exc}", False
    finish(message, ok=ok, detail=detail[:DETAIL_CHARS])
    return ok


def finish(message: Message, *, ok: bool, detail: str) -> None:
    """Record the attempt; then sent, pending again after the backoff, or dead after the last."""
    now = clock.now()
    fields: dict[str, object] = {"lease_until": None}
    if ok:
        fields |= {"status": S.SENT, "sent_at": now, "last_error": ""}
    elif message.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        fields |= {"status": S.DEAD, "last_error": detail}
    else:
        fields |= {
            "status": S.PENDING,
            "next_attempt_at": now + backoff(message.attempts),
            "last_error": detail,
        }
    with transaction.atomic():
        Delivery.objects.create(message=message, attempt=message.attempts, at=now, ok=ok, detail=detail)
        # Guarded by our claim: if the lease ran out and another worker took the message over,
        # its outcome is the one that counts.
        Message.objects.filter(pk=message.pk, status=S.SENDING, attempts=message.attempts).update(**fields)
    _log(message, ok=ok, status=str(fields["status"]), detail=detail)


def _log(message: Message, *, ok: bool, status: str, detail: str) -> None:
    target = message.endpoint_id or message.phone or message.email or message.user_id
    if ok:
        log.info(
            "delivered message %s (%s %s) to %s: %s",
            message.pk,
            message.transport,
            message.template,
            target,
            detail,
        )
    else:
        log.warning(
            "message %s (%s %s) to %s failed on attempt %d, now %s: %s",
            message.pk,
            message.transport,
            message.template,
            target,
            message.attempts,
            status,
            detail,
        )
