"""The one mechanism every case action uses: guarded update, exactly one event, effects on commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput
from civicgrid.cases.models import Case, Event, ExtensionRequest
from civicgrid.cases.signals import case_changed, event_recorded
from civicgrid.cases.states import Action, Status
from civicgrid.org.models import Unit


def record(
    *,
    case: Case,
    action: Action,
    actor: User | None,
    unit: Unit | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool = True,
    at: datetime | None = None,
    **fields: Any,
) -> Event:
    """Apply `fields` to the case if nobody changed it since it was read, and append one event.

    The UPDATE is guarded by the version the caller read: zero rows means another action won,
    so this one writes nothing and raises CaseChangedMeanwhile.
    """
    moment = at or clock.now()
    from_status = case.status
    updated = Case.objects.filter(pk=case.pk, version=case.version).update(
        version=F("version") + 1, last_seq=F("last_seq") + 1, **fields
    )
    if updated != 1:
        raise CaseChangedMeanwhile(case.number)
    for name, value in fields.items():
        setattr(case, name, value)
    case.version += 1
    case.last_seq += 1
    event = Event.objects.create(
        case=case,
        seq=case.last_seq,
        action=action.value,
        actor=actor,
        unit=unit,
        from_status=from_status,
        to_status=case.status,
        note=note,
        data=data or {},
        public=public,
        at=moment,
    )
    announce(case=case, event=event)
    return event


# One statement both creates the day's row and bumps it (SQLite ≥ 3.35 and PostgreSQL both speak
# this upsert with RETURNING).
_BUMP_COUNTER = (
    "INSERT INTO cases_dailycounter (day, value) VALUES (%s, 1) "
    "ON CONFLICT (day) DO UPDATE SET value = cases_dailycounter.value + 1 RETURNING value"
)
_SET_NUMBER = "UPDATE cases_case SET number = %s WHERE id = %s"


def provisional_number(tracking_code: str) -> str:
    """What a new case's row holds until next_case_number gives it its number, in the same
    transaction (so nobody else ever sees it): unique, as its tracking code is."""
    return f"~{tracking_code}"


def next_case_number(*, case: Case, day: datetime) -> str:
    """Give a new case the day's next number, '20261124-000123', and return it.

    The counter's row stays write-locked until the transaction ends, and every case of the day
    waits for it: so this runs last, once the case and its event are written, to hold the lock
    for an UPDATE and the commit only. Numbers stay gap-free: a rollback undoes the bump too."""
    local_day = timezone.localtime(day).date()
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_COUNTER, [connection.ops.adapt_datefield_value(local_day)])
        (value,) = cursor.fetchone()
        number = f"{local_day:%Y%m%d}-{int(value):06d}"
        cursor.execute(_SET_NUMBER, [number, case.pk])
    case.number = number
    return number


def first_event(
    *, case: Case, actor: User | None, unit: Unit | None, at: datetime, data: dict[str, Any]
) -> Event:
    """The 'create' event of a new case (seq 1), written with the case itself; the case takes its
    number (next_case_number) before the event is announced, so receivers see the real one."""
    event = Event.objects.create(
        case=case,
        seq=1,
        action=Action.CREATE.value,
        actor=actor,
        unit=unit,
        from_status="",
        to_status=Status.SUBMITTED,
        data=data,
        at=at,
    )
    next_case_number(case=case, day=at)
    announce(case=case, event=event)
    return event


def announce(*, case: Case, event: Event) -> None:
    """Outbox rows are written now, in the change's transaction; other effects wait for the commit."""
    event_recorded.send(sender=Event, case=case, event=event)
    transaction.on_commit(lambda: case_changed.send(sender=Case, case_id=case.pk, event_id=event.pk))


def required(value: str, field: str) -> str:
    """The stripped text, or InvalidInput naming the field when it is empty."""
    if not (value or "").strip():
        raise InvalidInput(field, _("此项必填"))
    return value.strip()


def lapse_pending_extensions(*, case: Case) -> None:
    """A request for more time dies with the lead it was made by (returned, escalated, finished)."""
    case.extension_requests.filter(status=ExtensionRequest.Status.PENDING).update(
        status=ExtensionRequest.Status.LAPSED, decided_at=clock.now()
    )
