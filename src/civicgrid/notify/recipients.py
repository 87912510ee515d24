"""Who is told: the staff of a unit, and the dispatchers or supervisors whose district holds a place."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

from django.db import connection
from django.db.models import Q

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
        self.answers: dict[tuple[str, ...], Any] = {}

    def get(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        blocks = connection.atomic_blocks
        if not blocks:
            return load()
        if self.owner is not blocks[0]:  # another transaction: start afresh
            self.owner, self.answers = blocks[0], {}
        if key not in self.answers:
            self.answers[key] = load()
        answer: T = self.answers[key]
        return answer

    def forget(self, **kwargs: object) -> None:
        self.owner, self.answers = None, {}


memo = _TransactionMemo()


def _holders(posts: Q) -> list[Recipient]:
    """Active users holding an active post matching `posts`, each once, in a stable order."""
    return memo.get((str(posts),), lambda: _read_holders(posts))


def _read_holders(posts: Q) -> list[Recipient]:
    rows = (
        Post.objects.filter(posts, active=True, unit__active=True, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", "user__email")
        .distinct()
    )
    # Plain tuples, not model instances: the worker asks this for every event it records.
    return [Recipient(pk, email) for pk, email in rows]


def unit_staff(*, unit_ids: Iterable[int] = (), codes: Iterable[str] = ()) -> list[Recipient]:
    """The people who work the cases given to these units (handler, unit head, grid and liaison posts)."""
    ids, wanted_codes = list(unit_ids), list(codes)
    if not ids and not wanted_codes:
        return []
    return _holders(Q(role__in=HANDLING_ROLES) & (Q(unit_id__in=ids) | Q(unit__code__in=wanted_codes)))


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
