"""Who is told: the staff of a unit, and the dispatchers or supervisors whose district holds a place."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

from django.db import connection

from civicgrid.accounts.models import Post, Role
from civicgrid.cases.reach import HANDLING_ROLES
from civicgrid.org.models import PATH_SEPARATOR, Unit

T = TypeVar("T")


class Recipient(NamedTuple):
    """Who a staff message goes to: the user (their inbox) and their e-mail address."""

    pk: int
    email: str


class _TransactionMemo(threading.local):
    """Answers remembered for the rest of the current transaction (a worker's batch of timers asks
    the same few questions hundreds of times). A change to a post, unit or user in the transaction
    forgets them (`forget`); outside a transaction nothing is remembered. One per thread, as
    transactions are (a threaded server must not mix two requests' answers)."""

    def __init__(self) -> None:
        self.owner: object | None = None
        self.answers: dict[tuple[object, ...], Any] = {}

    def _current(self) -> dict[tuple[object, ...], Any] | None:
        """This transaction's answers; None outside a transaction."""
        blocks = connection.atomic_blocks
        if not blocks:
            return None
        if self.owner is not blocks[0]:  # another transaction: start afresh
            self.owner, self.answers = blocks[0], {}
        return self.answers

    def get(self, key: tuple[object, ...], load: Callable[[], T]) -> T:
        answers = self._current()
        if answers is None:
            return load()
        if key not in answers:
            answers[key] = load()
        answer: T = answers[key]
        return answer

    def get_many(self, kind: str, ids: list[int], load: Callable[[list[int]], dict[int, T]]) -> dict[int, T]:
        """One answer per id, those not yet remembered read together by `load`."""
        answers = self._current()
        if answers is None:
            return load(ids)
        missing = [i for i in ids if (kind, i) not in answers]
        if missing:
            for i, answer in load(missing).items():
                answers[(kind, i)] = answer
        return {i: answers[(kind, i)] for i in ids}

    def forget(self, **kwargs: object) -> None:
        self.owner, self.answers = None, {}


memo = _TransactionMemo()


def _read_unit_staff(unit_ids: list[int]) -> dict[int, list[Recipient]]:
    """Active users holding an active handling post on each unit, each once, in a stable order."""
    rows = (
        Post.objects.filter(
            role__in=HANDLING_ROLES,
            unit_id__in=unit_ids,
            active=True,
            unit__active=True,
            user__is_active=True,
        )
        .order_by("user_id")
        .values_list("unit_id", "user_id", "user__email")
        .distinct()
    )
    # Plain tuples, not model instances: the worker asks this for every event it records.
    staff: dict[int, list[Recipient]] = {pk: [] for pk in unit_ids}
    for unit_id, pk, email in rows:
        staff[unit_id].append(Recipient(pk, email))
    return staff


def unit_staff(*, unit_ids: Iterable[int]) -> list[Recipient]:
    """The people who work the cases given to these units (handler, unit head, grid and liaison posts)."""
    ids = list(dict.fromkeys(unit_ids))
    if not ids:
        return []
    found: dict[int, Recipient] = {}
    for staff in memo.get_many("unit_staff", ids, _read_unit_staff).values():
        for recipient in staff:
            found.setdefault(recipient.pk, recipient)
    return sorted(found.values())


def read_unit_staff(*, unit_ids: Iterable[int]) -> None:
    """Read the staff of these units in one query for the rest of the transaction (a clock batch
    about to tell many units): `unit_staff` then answers from memory."""
    ids = list(dict.fromkeys(unit_ids))
    if ids and connection.atomic_blocks:
        memo.get_many("unit_staff", ids, _read_unit_staff)


class _Overseer(NamedTuple):
    """An oversight post's holder and where the post is."""

    recipient: Recipient
    path: str
    department: bool


def _overseers(role: str) -> list[_Overseer]:
    """Every active holder of an oversight role with their post's unit: few people, asked about for
    many events, so read once per transaction and matched to each place here."""
    return memo.get(("overseers", role), lambda: _read_overseers(role))


def _read_overseers(role: str) -> list[_Overseer]:
    rows = (
        Post.objects.filter(role=role, active=True, unit__active=True, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", "user__email", "unit__path", "unit__kind")
    )
    return [
        _Overseer(Recipient(pk, email), path, kind == Unit.Kind.DEPARTMENT) for pk, email, path, kind in rows
    ]


def _covering(place: Unit, role: str) -> list[Recipient]:
    """Holders of `role` whose oversight covers `place`: on the place or an area above it, or on a
    department of its district (an oversight post on a department sees its whole district, as in
    cases.reach)."""
    codes = place.ancestor_codes()
    prefixes = {
        PATH_SEPARATOR + PATH_SEPARATOR.join(codes[:n]) + PATH_SEPARATOR for n in range(1, len(codes) + 1)
    }
    district = PATH_SEPARATOR + codes[0] + PATH_SEPARATOR
    found: dict[int, Recipient] = {}
    for o in _overseers(role):
        if o.path in prefixes or (o.department and o.path.startswith(district)):
            found.setdefault(o.recipient.pk, o.recipient)
    return list(found.values())


def district_dispatchers(*, place: Unit) -> list[Recipient]:
    """The command centre staff (受理派单员) whose area covers the case's place."""
    return _covering(place, Role.DISPATCHER)


def district_supervisors(*, place: Unit) -> list[Recipient]:
    """The supervisors (督办员) whose area covers the case's place."""
    return _covering(place, Role.SUPERVISOR)
