"""Background jobs of the case engine: the clock's sweep of due timers, and clean-ups."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import QuerySet
from django.dispatch import Signal

from civicgrid import clock
from civicgrid.cases.errors import CaseChangedMeanwhile
from civicgrid.cases.models import Assignment, Case, Event, IdempotencyKey, Timer
from civicgrid.cases.services.clock import Batch, timer_fire
from civicgrid.jobs import job

log = logging.getLogger(__name__)
BATCH = 500
# Timers per transaction: small enough that a batch holds its cases' rows (and SQLite's one write
# lock) briefly, large enough that the sweep's fixed cost is shared.
TIMER_BATCH = 200

# Sent before a batch of timers fires in one pass, with `timers` and the `cases` and `assignments`
# they were read with, so that receivers can read what the batch's events will need at once. A
# receiver may return a context manager: it is entered around the pass, and left with the pass's
# exception when one ends it (the outbox gathers the batch's messages into one INSERT, written only
# if the whole pass succeeds).
timer_batch = Signal()


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


@job
def fire_due_timers() -> bool:
    """Fire one batch of due timers in one transaction. Return True when some were due.

    Workers claim timers with a guarded UPDATE, so each fires once however many run; a worker that
    dies mid-batch rolls the whole batch back (claims and events together) for another to take.
    The batch fires in one pass without a savepoint per timer; when a timer fails, the pass is
    rolled back and its timers fire again one by one, each in its own savepoint, so that the
    failure costs only its own timer.
    """
    now = clock.now()
    with transaction.atomic():
        timers = claim_due_timers(now=now, limit=TIMER_BATCH)
        if timers:
            _fire_batch(timers)
    return bool(timers)


def _fire_batch(timers: list[Timer]) -> None:
    # Case by case in one order (the pass's locks, the one-by-one writes): workers never deadlock.
    ordered = sorted(timers, key=lambda t: (t.case_id, t.due_at, t.pk))
    try:
        with transaction.atomic():
            _fire_together(ordered)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the batch rolls back, the worker waits and retries
    except Exception:
        log.warning("a timer failed: the batch's %d timers fire again one by one", len(ordered))
        for timer in ordered:
            _fire_alone(timer)


class _BatchRows:
    """The batch's cases (held until the commit) and assignments, in two queries instead of two per timer.

    A case's rows are handed out for its first timer only: once a timer acted on a case (an
    escalation ends an assignment), its later timers read their rows afresh.
    """

    def __init__(self, timers: Sequence[Timer]) -> None:
        cases = Case.objects.select_related("item", "place", "owner").filter(
            pk__in={t.case_id for t in timers}
        )
        if connection.features.has_select_for_update:
            # Held from the start and taken in id order: workers whose batches share a case wait for
            # each other instead of deadlocking, and nobody changes a case between its read and write.
            cases = cases.select_for_update(of=("self",)).order_by("pk")
        self.cases = {case.pk: case for case in cases}
        wanted = {t.assignment_id for t in timers if t.assignment_id is not None}
        self.assignments = Assignment.objects.select_related("unit").in_bulk(wanted)
        self.used: set[int] = set()

    def take(self, timer: Timer) -> tuple[Case | None, Assignment | None]:
        if timer.case_id in self.used:
            return None, None
        self.used.add(timer.case_id)
        assignment = self.assignments.get(timer.assignment_id) if timer.assignment_id is not None else None
        return self.cases.get(timer.case_id), assignment


def due_timers(*, now: datetime, limit: int) -> QuerySet[Timer]:
    """The oldest unfired timers due by `now` (served by the partial index timer_pending_idx)."""
    due = Timer.objects.filter(fired_at__isnull=True, due_at__lte=now).order_by("due_at")
    if connection.features.has_select_for_update_skip_locked:
        # Parallel workers take different timers instead of waiting for each other's.
        due = due.select_for_update(skip_locked=True)
    return due[:limit]


def claim_due_timers(*, now: datetime, limit: int) -> list[Timer]:
    """Mark a batch of due timers fired now; call inside the transaction that fires them."""
    timers = list(due_timers(now=now, limit=limit))
    if not timers:
        return []
    ids = [t.pk for t in timers]
    claimed = Timer.objects.filter(pk__in=ids, fired_at__isnull=True).update(fired_at=now)
    if claimed != len(ids):
        # Rows locked FOR UPDATE cannot be taken by another worker; without row locks, keep ours only.
        mine = set(Timer.objects.filter(pk__in=ids, fired_at=now).values_list("pk", flat=True))
        timers = [t for t in timers if t.pk in mine]
    for timer in timers:
        timer.fired_at = now
    return timers


def _fire_together(timers: Sequence[Timer]) -> None:
    """Fire the batch in one pass; any failure but a lost race ends it (the caller rolls it back).

    Each case's first timer is decided on the rows read for the batch and its step queued; the
    queued steps are written together, then the cases' later timers fire on their rows read afresh.
    """
    read = _BatchRows(timers)
    batch = Batch()
    later: list[Timer] = []
    # The batch acts at one moment: its events carry it, and so do the fields its rules set (one
    # UPDATE for all the cases a rule changes alike, instead of one per case a microsecond apart).
    with ExitStack() as scopes, clock.at(batch.moment):
        prepared = timer_batch.send(
            sender=Timer,
            timers=timers,
            cases=list(read.cases.values()),
            assignments=list(read.assignments.values()),
        )
        for _receiver, scope in prepared:
            if isinstance(scope, AbstractContextManager):
                scopes.enter_context(scope)
        for timer in timers:
            case, assignment = read.take(timer)
            if case is None:
                later.append(timer)
            else:
                _fire_in_pass(timer, case=case, assignment=assignment, batch=batch)
        batch.write()
        for timer in later:
            _fire_in_pass(timer)


def _fire_in_pass(
    timer: Timer,
    *,
    case: Case | None = None,
    assignment: Assignment | None = None,
    batch: Batch | None = None,
) -> None:
    try:
        event = timer_fire(timer=timer, case=case, assignment=assignment, batch=batch)
    except CaseChangedMeanwhile:
        # Safe without a savepoint: the guarded update that lost wrote nothing (services.record).
        _retry_later(timer)
        return
    _log(timer, event)


def _fire_alone(timer: Timer) -> None:
    """Fire one timer in its own savepoint, reading its rows afresh; a failure is logged and dropped."""
    try:
        with transaction.atomic():
            event = timer_fire(timer=timer)
    except CaseChangedMeanwhile:
        _retry_later(timer)
        return
    except (OperationalError, InterfaceError):
        raise  # the database went away: the batch rolls back, the worker waits and retries
    except Exception:
        # A timer that cannot fire must not stall the clock: it stays fired, the error is logged.
        log.exception("timer %d (%s) of case %d failed", timer.pk, timer.rule, timer.case_id)
        return
    _log(timer, event)


def _retry_later(timer: Timer) -> None:
    """Someone acted on the case while it was read: un-fire the timer so the next sweep re-checks it."""
    Timer.objects.filter(pk=timer.pk).update(fired_at=None)
    log.info("timer %d (%s): case changed meanwhile, will retry", timer.pk, timer.rule)


def _log(timer: Timer, event: Event | None) -> None:
    if event is not None:
        log.info("case %s: %s (event %d, timer %d)", event.case.number, event.action, event.seq, timer.pk)
