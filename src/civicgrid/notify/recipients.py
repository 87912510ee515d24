"""Who is told: the staff of a unit, and the dispatchers or supervisors whose district holds a place."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from civicgrid.accounts.models import Post, Role, User
from civicgrid.cases.reach import HANDLING_ROLES
from civicgrid.org.models import PATH_SEPARATOR, Unit


def _holders(posts: Q) -> list[User]:
    """Active users holding an active post matching `posts`, each once, in a stable order."""
    rows = (
        Post.objects.filter(posts, active=True, unit__active=True, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    users: dict[int, User] = {}
    for post in rows:
        users.setdefault(post.user_id, post.user)
    return list(users.values())


def unit_staff(*, unit_ids: Iterable[int] = (), codes: Iterable[str] = ()) -> list[User]:
    """The people who work the cases given to these units (handler, unit head, grid and liaison posts)."""
    ids, wanted_codes = list(unit_ids), list(codes)
    if not ids and not wanted_codes:
        return []
    return _holders(Q(role__in=HANDLING_ROLES) & (Q(unit_id__in=ids) | Q(unit__code__in=wanted_codes)))


def _covering(place: Unit) -> Q:
    """Posts whose oversight covers `place`: on the place or an area above it, or on a department of
    its district (an oversight post on a department sees its whole district, as in cases.reach)."""
    codes = place.ancestor_codes()
    prefixes = [
        PATH_SEPARATOR + PATH_SEPARATOR.join(codes[:n]) + PATH_SEPARATOR for n in range(1, len(codes) + 1)
    ]
    return Q(unit__path__in=prefixes) | Q(unit__kind=Unit.Kind.DEPARTMENT, unit__path__startswith=prefixes[0])


def district_dispatchers(*, place: Unit) -> list[User]:
    """The command centre staff (受理派单员) whose area covers the case's place."""
    return _holders(Q(role=Role.DISPATCHER) & _covering(place))


def district_supervisors(*, place: Unit) -> list[User]:
    """The supervisors (督办员) whose area covers the case's place."""
    return _holders(Q(role=Role.SUPERVISOR) & _covering(place))
